"""The CLI's frame: the command group, shared options, and the one place errors become exit codes.

Each command parses its options, calls the API, and hands the result to the reporter. Errors that the
API raises as MeshchartsError become one line per finding and the exit code DESIGN.md gives; anything
else is a bug, reported in one line too (set MESHCHARTS_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import atexit
import functools
import gc
import importlib
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from meshcharts.core.diagnostics import ExitCode, MeshchartsError
from meshcharts.core.reporter import (
    error_document,
    print_diagnostics,
    print_json,
)

F = TypeVar("F", bound=Callable[..., Any])

OUTPUT = click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
STACK = click.option("--stack", "stack_path", type=click.Path(path_type=Path), default=None, help="Stack file or its folder (default: search upwards for meshcharts.yaml).")


def handles_errors(command: F) -> F:
    """Turn MeshchartsError into diagnostics + exit code; never let a traceback reach the user."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        output = kwargs.get("output", "text")
        try:
            return command(*args, **kwargs)
        except MeshchartsError as error:
            if output == "json":
                print_json(error_document(error.diagnostics))
            else:
                print_diagnostics(error.diagnostics)
            sys.exit(int(error.exit_code))
        except KeyboardInterrupt:
            click.echo("meshcharts: interrupted", err=True)
            sys.exit(int(ExitCode.INTERRUPTED))
        except BrokenPipeError:  # `meshcharts ... | head`: the reader left, nothing to report
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(int(ExitCode.OK))
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as error:  # noqa: BLE001 - the one place that keeps tracebacks from users
            if os.environ.get("MESHCHARTS_DEBUG"):
                raise
            click.echo(f"meshcharts: internal error: {type(error).__name__}: {error} (set MESHCHARTS_DEBUG=1 for details)", err=True)
            sys.exit(int(ExitCode.INTERNAL))

    return wrapper  # type: ignore[return-value]


class LazyGroup(click.Group):
    """A command group whose heavier commands are imported only when they run (or --help lists them).

    ``meshcharts validate`` is the pre-commit path: it must not pay for the Kubernetes client, the
    database driver or rich, which the sandbox, apply, pull and history commands bring in.
    """

    lazy_commands = {
        "sandbox": "meshcharts.cli.sandbox:sandbox_command",
        "verify": "meshcharts.cli.verify:verify_command",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands and cmd_name not in self.commands:
            module, _, attribute = self.lazy_commands[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="meshcharts")
def main() -> None:
    """meshcharts: compose, validate, wire and deploy Kiali, Jaeger, Prometheus and Grafana for Istio on many clusters."""




def run() -> None:
    """The ``meshcharts`` command (console script and ``python -m meshcharts``): :func:`main`, then a quick exit.

    When the command is done and only the main thread is left, the process ends right after the
    output is flushed and the atexit handlers have run (temporary folders, finalizers), without the
    interpreter's teardown: freeing every module and object one by one took about a tenth of an
    unchanged plan or apply, for memory the operating system takes back at once. Any other thread
    still running gets the normal exit, which waits for it.
    """
    try:
        main()
    except SystemExit as done:
        code = done.code
    else:  # pragma: no cover - click's main always exits
        code = 0
    if isinstance(code, str):  # sys.exit("message"): printed on stderr, exit 1, as Python does
        click.echo(code, err=True)
        code = 1
    status = int(code or 0)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:  # the reader left (`meshcharts ... | head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if threading.active_count() > 1:
        sys.exit(status)
    atexit._run_exitfuncs()
    os._exit(status)


def one_shot() -> None:
    """Keep the cyclic garbage collector off until an offline command (validate, explain, render) ends.

    Such a command loads the stack, composes it, reports and exits: what it builds stays alive to the
    end and holds no reference cycles, so the collector's passes over it free nothing, and between
    the pauses in loading and composing they still took a tenth of a 20-file validate. The collector
    comes back on when the command's context closes (at once for callers that run commands
    in-process, such as tests with click's CliRunner). Commands that run long or talk to clusters
    keep the collector.
    """
    if gc.isenabled():
        gc.disable()
        click.get_current_context().call_on_close(gc.enable)


def count(number: int, noun: str) -> str:
    """``1 error``, ``2 errors``."""
    return f"{number} {noun}{'' if number == 1 else 's'}"


def shown_path(path: Path) -> str:
    """A path relative to the current folder when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
