"""The command line: a thin click layer over the Python API.

Each command parses its options, calls the API, and hands the result to the reporter. Errors that the
API raises as MeshchartsError become one line per finding and the exit code DESIGN.md gives; anything
else is a bug, reported in one line too (set MESHCHARTS_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from meshcharts.core.diagnostics import ExitCode, MeshchartsError
from meshcharts.core.reporter import error_document, format_diagnostic, print_diagnostics, print_json

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
            sys.exit(130)
        except BrokenPipeError:  # `meshcharts ... | head`: the reader left, nothing to report
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(int(ExitCode.OK))
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as error:  # noqa: BLE001 - the one place that keeps tracebacks from users
            if os.environ.get("MESHCHARTS_DEBUG"):
                raise
            click.echo(f"meshcharts: internal error: {type(error).__name__}: {error} (set MESHCHARTS_DEBUG=1 for details)", err=True)
            sys.exit(int(ExitCode.INVALID))

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="meshcharts")
def main() -> None:
    """meshcharts: compose, validate, wire and deploy Kiali, Jaeger, Prometheus and Grafana for Istio on many clusters."""


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@STACK
@OUTPUT
@handles_errors
def validate(files: tuple[Path, ...], stack_path: Path | None, output: str) -> None:
    """Compose and check the stack: YAML, schemas, version rules, wiring.

    With FILES (as pre-commit passes them), only the compositions those files take part in.
    Exit 0 valid, 1 invalid, 2 usage or config error.
    """
    from meshcharts.api import open_project, validate_files, validate_project

    if stack_path is None and files:
        report = validate_files(list(files))
    else:
        report = validate_project(open_project(stack_path), list(files) or None)
    if output == "json":
        print_json(report.as_json())
    else:
        for diagnostic in report.diagnostics:
            click.echo(format_diagnostic(diagnostic), err=True)
        summary = f"{_count(len(report.checked), 'composition')} checked: {_count(len(report.errors), 'error')}, {_count(len(report.warnings), 'warning')}"
        click.echo(("ok: " if report.valid else "invalid: ") + summary)
    sys.exit(int(ExitCode.OK if report.valid else ExitCode.INVALID))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@main.command()
@click.argument("cluster")
@click.argument("component")
@click.argument("key_path", required=False)
@STACK
@OUTPUT
@handles_errors
def explain(cluster: str, component: str, key_path: str | None, stack_path: Path | None, output: str) -> None:
    """Composed values of COMPONENT on CLUSTER, each with the layer and file:line that set it."""
    from meshcharts.api import explain_values, open_project
    from meshcharts.compose.explain import format_explained

    project = open_project(stack_path)
    entries = explain_values(project, cluster, component, key_path)
    if output == "json":
        print_json({"cluster": cluster, "component": component, "path": key_path or "", "values": [entry.as_json() for entry in entries]})
    else:
        click.echo(format_explained(entries))


@main.command()
@click.option("--cluster", "-c", default=None, help="Only this cluster.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Output folder (default: charts-out/ beside the stack).")
@STACK
@OUTPUT
@handles_errors
def render(cluster: str | None, out_dir: Path | None, stack_path: Path | None, output: str) -> None:
    """Write final values and generated charts to charts-out/<cluster>/ (secrets stay placeholders)."""
    from meshcharts.api import open_project, render_project, require_cluster

    project = open_project(stack_path)
    if cluster:
        require_cluster(project, cluster)
    result = render_project(project, cluster, out_dir)
    if output == "json":
        print_json(result.as_json())
        return
    for diagnostic in result.report.warnings if result.report else []:
        click.echo(format_diagnostic(diagnostic), err=True)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"rendered to {_shown_path(result.output)}", title_justify="left")
    for column in ("cluster", "#", "release", "namespace", "chart", "version", "values", "secrets"):
        table.add_column(column)
    for cluster_name, items in result.clusters.items():
        for position, item in enumerate(items, start=1):
            row = item.as_json()
            table.add_row(cluster_name, str(position), row["release"], row["namespace"], str(row["chart"]), str(row["version"]), row["values"], str(len(row["secrets"])))
    Console(width=160).print(table)


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@main.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--preset", "-p", default="rancher", show_default=True, help="rancher | kube-prometheus | istio-tracing | existing-monitoring")
@click.option("--addons-source", type=click.Path(path_type=Path, exists=True, file_okay=False), default=None, help="Your Istio release directory (or its samples/addons), for presets with istio-addons.")
@click.option("--force", is_flag=True, help="Overwrite the preset's files in a folder that already holds a stack.")
@OUTPUT
@handles_errors
def init(directory: Path, preset: str, addons_source: Path | None, force: bool, output: str) -> None:
    """Write a working starting stack into DIRECTORY from a preset (one per write-up scenario)."""
    from meshcharts.presets.scaffold import PRESET_SUMMARIES, init_stack

    result = init_stack(directory, preset, addons_source=addons_source, force=force)
    if output == "json":
        print_json({"directory": str(result.directory), "preset": result.preset, "files": result.files, "notes": result.notes})
        return
    click.echo(f"wrote preset {result.preset} ({PRESET_SUMMARIES.get(result.preset, '')}) to {directory}:")
    for name in result.files:
        click.echo(f"  {name}")
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"next: cd {directory} && meshcharts validate && meshcharts explain")


@main.command()
@OUTPUT
@handles_errors
def types(output: str) -> None:
    """The built-in component types: chart, repository, default release and namespace, schemas."""
    from meshcharts.components import catalog

    rows = [
        {
            "type": component_type.name,
            "chart": component_type.chart,
            "repo": component_type.repo or "(generated by meshcharts)",
            "release": component_type.default_release,
            "namespace": component_type.default_namespace,
            "schemas": {line.label: line.schema for line in component_type.schema_lines},
            "prerequisites": [prerequisite.release for prerequisite in component_type.prerequisites],
            "description": component_type.description,
        }
        for component_type in catalog().values()
    ]
    if output == "json":
        print_json(rows)
        return
    for row in rows:
        click.echo(f"{row['type']:<24} {row['description']}")
        click.echo(f"{'':<24} chart {row['chart']} from {row['repo']}; release {row['release']} in {row['namespace']}")


if __name__ == "__main__":  # pragma: no cover
    main()
