"""``render``: the final values and generated charts, written to charts-out/."""

from __future__ import annotations

from pathlib import Path

import click

from meshcharts.cli.app import OUTPUT, STACK, handles_errors, main, one_shot, shown_path
from meshcharts.core.reporter import format_diagnostic, print_json


@main.command(short_help="Write final values and generated charts to charts-out/.")
@click.option("--cluster", "-c", default=None, help="Only this cluster.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Output folder (default: charts-out/ beside the stack).")
@STACK
@OUTPUT
@handles_errors
def render(cluster: str | None, out_dir: Path | None, stack_path: Path | None, output: str) -> None:
    """Write final values and generated charts to charts-out/<cluster>/ (secrets stay placeholders)."""
    from meshcharts.api import open_project, require_cluster
    from meshcharts.deploy.render import release_entry, render_project

    one_shot()
    project = open_project(stack_path)
    if cluster is not None:  # --cluster '' is a mistake, not "every cluster"
        require_cluster(project, cluster)
    result = render_project(project, cluster, out_dir)
    if output == "json":
        print_json(result.as_json())
        return
    for diagnostic in result.report.warnings if result.report else []:
        click.echo(format_diagnostic(diagnostic), err=True)
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"rendered to {shown_path(result.output)}", title_justify="left")
    for column in ("cluster", "#", "release", "namespace", "chart", "version", "values", "secrets"):
        table.add_column(column)
    for cluster_name, items in result.clusters.items():
        for position, item in enumerate(items, start=1):
            row = release_entry(item)
            table.add_row(cluster_name, str(position), row["release"], row["namespace"], str(row["chart"]), str(row["version"]), row["values"], str(len(row["secrets"])))
    Console(width=160).print(table)
