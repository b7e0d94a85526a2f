"""``export``: what apply would install, as Flux, Argo CD or Rancher Fleet objects, for a GitOps repository."""

from __future__ import annotations

from pathlib import Path

import click

from meshcharts.cli.app import OUTPUT, STACK, count, handles_errors, main, shown_path
from meshcharts.cli.apply import LEDGER
from meshcharts.core.reporter import format_diagnostic, print_json


@main.command(short_help="Write the releases as Flux, Argo CD or Fleet objects.")
@click.option("--to", "engine", type=click.Choice(["flux", "argocd", "fleet"]), required=True, help="The GitOps engine.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None, help="Output folder (default: gitops-out/<engine>/ beside the stack).")
@click.option("--cluster", "-c", default=None, help="Only this cluster (the folder then holds it alone: give it its own --out).")
@click.option("--charts-url", default=None, help="URL where the export's charts/ folder is served (generated and local charts); default: the stack's export.chartsUrl.")
@click.option("--chart-repository", default=None, help="A mirror every repository and OCI chart is fetched from (http(s):// or oci://); default: the stack's export.chartRepository.")
@LEDGER
@STACK
@OUTPUT
@handles_errors
def export(
    engine: str, out_dir: Path | None, cluster: str | None, charts_url: str | None, chart_repository: str | None,
    ledger_url: str | None, stack_path: Path | None, output: str,
) -> None:
    """Write every release apply would install as the GitOps engine's own objects, and record the export.

    Same releases, order, charts and values as apply; one file per object, byte-identical on re-run.
    !env secrets are never written: each becomes a reference to a Secret, listed here to create.
    Exit 0 written, 1 the stack cannot be exported (invalid, or a secret Argo CD cannot take), 2 usage.
    """
    from meshcharts.api import open_project, require_cluster
    from meshcharts.gitops.export import ExportOptions, export_project

    project = open_project(stack_path)
    if cluster is not None:
        require_cluster(project, cluster)
    result = export_project(project, ExportOptions(engine, cluster, out_dir, charts_url, ledger_url, chart_repository))
    if output == "json":
        print_json(result.as_json())
        return
    for diagnostic in result.warnings:
        click.echo(format_diagnostic(diagnostic), err=True)
    releases = sum(len(item.releases) for item in result.clusters)
    click.echo(
        f"exported {count(releases, 'release')} of {count(len(result.clusters), 'cluster')} for {engine} to {shown_path(result.output)} "
        f"({count(len(result.files), 'file')}{', ' + count(len(result.charts), 'chart') + ' in charts/' if result.charts else ''}); run {result.run_id}"
    )
    if result.secrets:
        click.echo("Secrets to create before the engine installs (no secret was written):")
        for secret in result.secrets:
            keys = ", ".join(key for key, _ in secret.keys)
            click.echo(f"  {secret.where}: {secret.namespace}/{secret.name}  keys: {keys}")
            for key, what in secret.keys:
                click.echo(f"    {key}: {what}")
