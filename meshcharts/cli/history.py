"""``meshcharts history``: the ledger as a table or JSON. A thin click layer over the ledger API.

:func:`make_history_command` builds the command around a function that finds the stack root (the
CLI registers it with the stack search; tests with their own folder). No ledger code is imported
until the command runs (the records and tables are in :mod:`meshcharts.cli.history_view`), so
registering it costs every other command, ``meshcharts validate`` first, nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click

from meshcharts.cli.app import main
from meshcharts.core.diagnostics import ExitCode, MeshchartsError
from meshcharts.core.reporter import error_document, print_diagnostics, print_json
from meshcharts.load.stack import find_stack_file

StackRoot = Callable[[Path | None], Path]
"""Given ``--stack`` (or None), the stack's root folder: where the default ledger file lives."""

def make_history_command(stack_root: StackRoot, stack_ledger: Callable[[Path | None], str | None] | None = None) -> click.Command:
    """The ``history`` click command; ``stack_root`` (and ``stack_ledger``, the stack file's ``ledger:``)
    are called only when ``--ledger`` is not given."""

    @click.command("history", short_help="Show what was deployed where, newest first.")
    @click.option("--ledger", "ledger_url", metavar="URL", default=None, help="Ledger: a file, sqlite:///FILE or postgresql://... (default: meshcharts.ledger.sqlite beside the stack).")
    @click.option("--stack", "stack_path", type=click.Path(path_type=Path), default=None, help="Stack file or its folder (default: search upwards for meshcharts.yaml).")
    @click.option("--cluster", default=None, help="Only releases to this cluster.")
    @click.option("--component", default=None, help="Only releases of this component.")
    @click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most this many releases, newest first.")
    @click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
    def history(ledger_url: str | None, stack_path: Path | None, cluster: str | None, component: str | None, limit: int, output: str) -> None:
        """What was deployed where, newest first: runs (who, when, commit, outcome) and their releases."""
        if ledger_url is None and stack_ledger is not None:
            try:
                ledger_url = stack_ledger(stack_path)
            except MeshchartsError as error:
                print_diagnostics(error.diagnostics)
                sys.exit(int(error.exit_code))
        sys.exit(run_history(ledger_url, lambda: stack_root(stack_path), cluster=cluster, component=component, limit=limit, output=output))

    return history


def run_history(
    ledger_url: str | None,
    default_dir: Callable[[], Path],
    *,
    cluster: str | None = None,
    component: str | None = None,
    limit: int = 20,
    output: str = "text",
) -> int:
    """Print the history; the exit code (0, or the error's: 1 for the ledger, 2 for no stack)."""
    from meshcharts.cli.history_view import history_document, print_text

    try:
        document = history_document(ledger_url, default_dir, cluster=cluster, component=component, limit=limit)
    except MeshchartsError as error:
        if output == "json":
            print_json(error_document(error.diagnostics))
        else:
            print_diagnostics(error.diagnostics)
        return int(error.exit_code)
    if output == "json":
        print_json(document.as_json())
    else:
        print_text(document)
    return int(ExitCode.OK)


def _stack_root(stack_path: Path | None) -> Path:
    """The folder of the stack file: ``--stack`` (file or folder) or the nearest meshcharts.yaml above."""
    if stack_path is None:
        return find_stack_file().parent
    return stack_path if stack_path.is_dir() else stack_path.parent


def _stack_ledger(stack_path: Path | None) -> str | None:
    """The stack file's ``ledger:`` URL (a relative file is beside the stack), or None for the default file."""
    from meshcharts.api import open_project
    from meshcharts.ledger.urls import ledger_url_for

    return ledger_url_for(open_project(stack_path).stack, None)


main.add_command(make_history_command(_stack_root, _stack_ledger))
