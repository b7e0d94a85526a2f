"""``meshcharts verify``: the wiring checked against the live clusters (reads only).

Registered lazily (``LazyGroup`` in :mod:`meshcharts.cli.app`), so ``meshcharts validate`` never
imports it or the Kubernetes client. Exit 0 when every cluster checks out, 1 when verify found a
problem or could not reach a cluster, 2 for usage and configuration errors.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from meshcharts.cli.app import OUTPUT, STACK, count, handles_errors
from meshcharts.core.diagnostics import ExitCode
from meshcharts.core.reporter import format_diagnostic, print_json

#: How each kind of check is counted in the summary line.
_NOUNS = (("address", "address", "addresses"), ("monitor", "monitor", "monitors"), ("crd", "CRD", "CRDs"), ("dashboard", "dashboard", "dashboards"))


@click.command("verify", short_help="The wiring checked on the live clusters (reads only).")
@click.option("--cluster", "-c", default=None, help="Only this cluster.")
@click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False), default=None, help="kubeconfig for every cluster (default: each cluster's, or $KUBECONFIG).")
@STACK
@OUTPUT
@handles_errors
def verify_command(cluster: str | None, kubeconfig: Path | None, stack_path: Path | None, output: str) -> None:
    """Check the wiring on the live clusters: Kiali's URLs lead to Services with ready endpoints, the live
    Prometheus selects Istio's monitors, the CRDs the releases use are established, Grafana's sidecar
    sees the dashboards.

    Reads only. Each problem names the values key and the file:line that set it. Exit 0 when all is
    well, 1 when something is wrong or a cluster cannot be reached, 2 for a usage or config error.
    """
    from meshcharts.api import open_project, require_cluster
    from meshcharts.deploy.verify import VerifyOptions, verify_project

    project = open_project(stack_path)
    if cluster is not None:
        require_cluster(project, cluster)
    result = verify_project(project, VerifyOptions(cluster=cluster, kubeconfig=str(kubeconfig) if kubeconfig else None))
    if output == "json":
        print_json(result.as_json())
    else:
        for name, outcome in result.clusters.items():
            for problem in outcome.problems:
                click.echo(format_diagnostic(problem))
            if outcome.unreachable:
                continue  # its one line is the problem above
            counts = outcome.counts()
            checked = ", ".join(f"{counts.get(kind, 0)} {singular if counts.get(kind, 0) == 1 else plural}" for kind, singular, plural in _NOUNS)
            errors = sum(1 for problem in outcome.problems if problem.is_error)
            verdict = "ok" if outcome.ok else count(errors, "problem")
            click.echo(f"{name}: {verdict} ({checked} checked)")
    sys.exit(int(ExitCode.OK if result.ok else ExitCode.INVALID))
