"""``apply`` and ``pull``: the live half of meshcharts (charts into the cache, releases onto clusters)."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click

from meshcharts.cli.app import OUTPUT, STACK, handles_errors, main
from meshcharts.core.diagnostics import ConfigError, Diagnostic, ExitCode
from meshcharts.core.reporter import print_json

LEDGER = click.option("--ledger", "ledger_url", default=None, help="Ledger URL: a SQLite path or postgresql://... (default: meshcharts.ledger.sqlite beside the stack).")


@main.command(short_help="Install or upgrade every release on its clusters.")
@click.argument("plan_file", metavar="[PLAN]", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--cluster", "-c", default=None, help="Only this cluster.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True, help="Clusters applied at once.")
@click.option(
    "--release-concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
    help="Releases of one cluster applied at once, when they do not depend on each other (1: one by one, in install order).",
)
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (required when stdin is not a terminal).")
@click.option("--atomic/--no-atomic", default=None, help="Roll a failed release back (helm --atomic / --rollback-on-failure); default: each component's helm.atomic, else no.")
@click.option("--wait/--no-wait", default=None, help="Wait until each release's workloads are ready; default: each component's helm.wait, else wait.")
@click.option("--timeout", default=None, help="Per-release helm timeout (90s, 5m); default: each component's helm.timeout, else 5m.")
@click.option("--lock-timeout", type=click.FloatRange(0), default=60.0, show_default=True, help="Seconds to wait for another apply on the same cluster.")
@click.option("--kubeconfig", type=click.Path(path_type=Path, dir_okay=False), default=None, help="kubeconfig for every cluster (default: each cluster's, or $KUBECONFIG).")
@LEDGER
@STACK
@OUTPUT
@handles_errors
def apply(
    plan_file: Path | None,
    cluster: str | None,
    concurrency: int,
    release_concurrency: int,
    yes: bool,
    atomic: bool | None,
    wait: bool | None,
    timeout: str | None,
    lock_timeout: float,
    kubeconfig: Path | None,
    ledger_url: str | None,
    stack_path: Path | None,
    output: str,
) -> None:
    """Install or upgrade every release that needs it, on every cluster, and record it.

    Plans first (as `meshcharts plan` does) and refuses before touching any cluster if one would fail.
    A release whose chart, values and objects equal the deployed revision is left alone (no helm
    call); one whose objects were changed or deleted outside meshcharts is restored. With PLAN (from
    `meshcharts plan --out`), applies exactly that plan or refuses, naming what changed since.
    Exit 0 when every release is deployed or unchanged, 1 otherwise.
    """
    from meshcharts.api import open_project, require_cluster
    from meshcharts.cli.progress import ApplyProgress, summary_lines
    from meshcharts.deploy.apply import ApplyOptions, apply_project
    from meshcharts.deploy.saved_plan import read_plan

    saved = read_plan(plan_file) if plan_file is not None else None
    project = open_project(stack_path)
    if cluster is not None:
        require_cluster(project, cluster)
    targets = [cluster] if cluster else list(project.stack.clusters)
    if not yes:
        if not sys.stdin.isatty():
            raise ConfigError(Diagnostic(message="apply changes clusters; pass --yes to run it without a terminal", rule="usage.confirm"))
        click.confirm(f"apply stack {project.stack.name} to {', '.join(targets)}?", abort=True, err=True)
    options = ApplyOptions(
        cluster=cluster,
        concurrency=concurrency,
        release_concurrency=release_concurrency,
        atomic=atomic,
        wait=wait,
        timeout=timeout,
        lock_timeout=lock_timeout,
        kubeconfig=str(kubeconfig) if kubeconfig else None,
        ledger_url=ledger_url,
    )
    with _sigterm_interrupts(), ApplyProgress(live=output == "text" and sys.stderr.isatty()) as progress:
        result = apply_project(project, options, progress if output == "text" else lambda *_: None, saved)
    if output == "json":
        print_json(result.as_json())
    else:
        for line in summary_lines(result):
            click.echo(line)
    if result.interrupted:
        click.echo(f"meshcharts: apply interrupted: nothing more was started; run {result.run_id} is recorded as interrupted", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    sys.exit(int(ExitCode.OK if result.ok else ExitCode.INVALID))


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (a CI runner cancelling the job, ``kill PID``) stops apply the way Ctrl-C does.

    Python's default for SIGTERM is to die on the spot: helm left mid-release, the ledger run left
    ``running`` until the next run notices. As an interrupt, apply winds down and records it.
    """
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@main.command(short_help="Fetch the pinned charts and record their digests.")
@STACK
@OUTPUT
@handles_errors
def pull(stack_path: Path | None, output: str) -> None:
    """Fetch every pinned chart into the chart cache and record its sha256 in meshcharts.lock.

    $MESHCHARTS_CHARTS (a directory of <chart>-<version>.tgz) is searched before any repository.
    """
    from meshcharts.api import open_project
    from meshcharts.deploy.pull import pull_charts
    from meshcharts.helm.client import HelmClient

    project = open_project(stack_path)
    try:
        helm: HelmClient | None = HelmClient()
    except ConfigError:  # no helm: the offline directory may still hold every chart
        helm = None
    pulled = pull_charts(project, helm)
    if output == "json":
        print_json({"charts": [item.as_json() for item in pulled]})
        return
    for item in pulled:
        entry = item.locked
        click.echo(f"{item.state:<9} {entry.request.name} {entry.request.version}  sha256:{entry.digest[:16]}  from {entry.source}")
    click.echo(f"{len(pulled)} chart(s) in meshcharts.lock")
