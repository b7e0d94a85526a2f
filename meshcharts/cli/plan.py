"""``plan`` and ``drift``: what apply would do on every cluster, and what changed live outside meshcharts.

Both only read: no object on any cluster is written, no helm verb that writes is run.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from meshcharts.cli.app import STACK, handles_errors, main
from meshcharts.core.diagnostics import ExitCode
from meshcharts.core.reporter import print_json

KUBECONFIG = click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False), default=None, help="kubeconfig for every cluster (default: each cluster's, or $KUBECONFIG).")


@main.command(short_help="Show what apply would change, without changing anything.")
@click.option("--cluster", "-c", default=None, help="Only this cluster.")
@click.option("--out", "out_file", type=click.Path(path_type=Path, dir_okay=False), default=None, help="Also save the plan (JSON) for `meshcharts apply PLAN`.")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 2 when there are changes, 0 when there are none (1: an error or something would fail).")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True, help="Clusters planned at once.")
@KUBECONFIG
@STACK
@click.option("--output", "-o", type=click.Choice(["text", "json", "markdown"]), default="text", show_default=True, help="Output format.")
@handles_errors
def plan(cluster: str | None, out_file: Path | None, detailed_exitcode: bool, concurrency: int, kubeconfig: Path | None, stack_path: Path | None, output: str) -> None:
    """Show what apply would change on each cluster, object by object, without changing anything.

    Compares what each release would apply (its chart and composed values, rendered with the
    cluster's own version and API groups) with what is live, as the API server would apply it.
    Lists the values changed since the deployed revision with the file:line that set them, and what
    would fail on each cluster. Exit 0, or with --detailed-exitcode 0 no changes / 2 changes;
    1 when a cluster cannot be planned or something would fail.
    """
    from meshcharts.api import open_project, require_cluster
    from meshcharts.cli.plan_report import markdown, text_lines
    from meshcharts.deploy.planning import PlanOptions, plan_project
    from meshcharts.deploy.saved_plan import write_plan

    project = open_project(stack_path)
    if cluster is not None:
        require_cluster(project, cluster)
    result = plan_project(project, PlanOptions(cluster=cluster, kubeconfig=str(kubeconfig) if kubeconfig else None, concurrency=concurrency))
    if out_file is not None:
        write_plan(result, out_file)
    if output == "json":
        print_json(result.as_json())
    elif output == "markdown":
        click.echo(markdown(result), nl=False)
    else:
        for line in text_lines(result):
            click.echo(line)
        if out_file is not None:
            click.echo(f"Saved the plan to {out_file}; apply exactly it with: meshcharts apply {out_file}")
    if not result.ok:
        sys.exit(int(ExitCode.INVALID))
    sys.exit(int(ExitCode.USAGE if detailed_exitcode and result.changes else ExitCode.OK))


@main.command(short_help="Show what changed live outside meshcharts.")
@click.option("--cluster", "-c", default=None, help="Only this cluster.")
@KUBECONFIG
@STACK
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", show_default=True, help="Output format.")
@handles_errors
def drift(cluster: str | None, kubeconfig: Path | None, stack_path: Path | None, output: str) -> None:
    """Show what changed live outside meshcharts, object by object; exit 2 when anything did.

    Compares each deployed release's objects with the live ones, as the API server would apply
    them, regardless of changes in the stack (those are `meshcharts plan`'s). Exit 0 no drift,
    2 drift, 1 when a cluster cannot be read.
    """
    from meshcharts.api import open_project, require_cluster
    from meshcharts.cli.plan_report import text_lines
    from meshcharts.deploy.planning import PlanOptions, drift_project

    project = open_project(stack_path)
    if cluster is not None:
        require_cluster(project, cluster)
    result = drift_project(project, PlanOptions(cluster=cluster, kubeconfig=str(kubeconfig) if kubeconfig else None))
    drifted = any(release.objects for cluster_plan in result.clusters.values() for release in cluster_plan.releases)
    if output == "json":
        document = result.as_json()
        document["drift"] = drifted
        print_json(document)
    else:
        for line in text_lines(result, drift=True):
            click.echo(line)
    if not result.ok:
        sys.exit(int(ExitCode.INVALID))
    sys.exit(int(ExitCode.USAGE if drifted else ExitCode.OK))
