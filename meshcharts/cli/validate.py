"""``validate`` and ``explain``: the offline checks, and where each value came from."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from meshcharts.cli.app import OUTPUT, STACK, count, handles_errors, main, one_shot
from meshcharts.core.diagnostics import ExitCode
from meshcharts.core.reporter import format_diagnostic, print_json


@main.command(short_help="Compose and check the stack: YAML, schemas, wiring.")
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

    one_shot()
    if stack_path is None and files:
        report = validate_files(list(files))
    else:
        report = validate_project(open_project(stack_path), list(files) or None)
    if output == "json":
        print_json(report.as_json())
    else:
        for diagnostic in report.diagnostics:
            click.echo(format_diagnostic(diagnostic), err=True)
        summary = f"{count(len(report.checked), 'composition')} checked: {count(len(report.errors), 'error')}, {count(len(report.warnings), 'warning')}"
        if files and not report.checked and not report.diagnostics:
            summary = "nothing checked: none of the files is a stack file or values file of a meshcharts stack"
        click.echo(("ok: " if report.valid else "invalid: ") + summary)
    sys.exit(int(ExitCode.OK if report.valid else ExitCode.INVALID))


@main.command(short_help="Show each composed value and the file:line that set it.")
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

    one_shot()
    project = open_project(stack_path)
    entries = explain_values(project, cluster, component, key_path)
    if output == "json":
        print_json({"cluster": cluster, "component": component, "path": key_path or "", "values": [entry.as_json() for entry in entries]})
    else:
        click.echo(format_explained(entries))
