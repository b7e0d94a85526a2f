"""``meshcharts apply``: ``helm upgrade --install`` every release, in install order, on every cluster.

The releases are exactly what ``render`` writes (render runs first, into the same ``charts-out/``), so
what a reviewer reads in ``charts-out/<cluster>/releases.yaml`` is what gets installed. Per cluster:
take the ledger's lock, read what is deployed in one API call, then walk the releases in order: an
unchanged release makes no helm call, a release stuck pending is unlocked first, and the first failure
stops that cluster (the rest are recorded as skipped) while the other clusters carry on. Clusters run
in parallel, up to ``concurrency`` at once.

Every step is recorded in the ledger as it happens: a release row is written ``pending`` before helm
starts and completed with what helm said, so a run killed half-way leaves rows the next run marks
interrupted, and nothing is ever recorded as deployed that helm did not deploy.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshcharts.compose.project import Project
from meshcharts.core.diagnostics import ConfigError, Diagnostic, MeshchartsError
from meshcharts.core.model import Cluster, Component
from meshcharts.deploy.history import ledger_url_for
from meshcharts.deploy.live import (
    api_client,
    canonical_values_hash,
    read_deployed,
    unlock_pending,
)
from meshcharts.deploy.prepare import (
    PreparedRelease,
    ReleaseAction,
    decide,
    prepare_cluster,
)
from meshcharts.deploy.render import render_project
from meshcharts.deploy.sources import read_lock
from meshcharts.helm.client import HelmClient
from meshcharts.ledger.provenance import git_commit
from meshcharts.ledger.records import ReleaseSpec, ReleaseStatus
from meshcharts.ledger.store import Ledger, RunHandle, open_ledger


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply. ``kubeconfig`` overrides every cluster's (a sandbox, a CI runner's file).

    ``atomic``, ``wait`` and ``timeout`` set for the run apply to every release; left None, each
    component's ``helm:`` settings in the stack file decide, then helm's usual (no rollback, wait, 5m).
    """

    def helm_settings(self, component: Component) -> tuple[bool, bool, str]:
        """(atomic, wait, timeout) for one component's releases."""
        own = component.helm
        atomic = self.atomic if self.atomic is not None else bool(own.atomic)
        wait = self.wait if self.wait is not None else (own.wait if own.wait is not None else True)
        timeout = self.timeout or own.timeout or DEFAULT_TIMEOUT
        return atomic, wait, timeout


    cluster: str | None = None
    concurrency: int = 4
    atomic: bool | None = None  # None: each component's helm.atomic, else False
    wait: bool | None = None  # None: each component's helm.wait, else True
    timeout: str | None = None  # None: each component's helm.timeout, else 5m
    lock_timeout: float = 60.0
    kubeconfig: str | None = None
    ledger_url: str | None = None
    output_dir: Path | None = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)


@dataclass(frozen=True)
class ReleaseResult:
    """What happened to one release: the action chosen and how it ended."""

    cluster: str
    release: str
    component: str
    namespace: str
    chart: str
    version: str
    action: str  # install | upgrade | recover | unchanged
    status: str  # deployed | unchanged | failed | skipped
    revision: int | None = None
    error: str | None = None
    note: str | None = None
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "release": self.release,
            "component": self.component,
            "namespace": self.namespace,
            "chart": self.chart,
            "version": self.version,
            "action": self.action,
            "status": self.status,
            "revision": self.revision,
            "error": self.error,
            "note": self.note,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class ClusterResult:
    name: str
    releases: list[ReleaseResult] = field(default_factory=list)
    error: str | None = None  # the cluster could not be reached or locked: nothing was done there

    @property
    def ok(self) -> bool:
        return self.error is None and all(item.status in ("deployed", "unchanged") for item in self.releases)


@dataclass
class ApplyResult:
    run_id: int
    ledger: str
    clusters: dict[str, ClusterResult]

    @property
    def ok(self) -> bool:
        return all(cluster.ok for cluster in self.clusters.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "run": self.run_id,
            "ledger": self.ledger,
            "clusters": {
                name: {"ok": result.ok, "error": result.error, "releases": [item.as_json() for item in result.releases]}
                for name, result in self.clusters.items()
            },
        }


DEFAULT_TIMEOUT = "5m"

#: Progress callbacks: (cluster, release or None for the cluster itself, state text).
Observer = Callable[[str, str | None, str], None]


def _quiet(cluster: str, release: str | None, state: str) -> None:
    """The default observer: apply reports through its result only."""


def apply_project(project: Project, options: ApplyOptions | None = None, observer: Observer = _quiet) -> ApplyResult:
    """Render, check every chart and secret, then apply cluster by cluster and record it all."""
    options = options or ApplyOptions()
    stack = project.stack
    rendered = render_project(project, options.cluster, options.output_dir)
    lock = read_lock(stack.root)
    prepared: dict[str, list[PreparedRelease]] = {}
    problems: list[Diagnostic] = []
    for name, items in rendered.clusters.items():
        try:
            prepared[name] = prepare_cluster(project, name, items, rendered.output / name, lock, options.environ)
        except ConfigError as error:
            problems.extend(error.diagnostics)
    if problems:
        raise ConfigError(problems)
    ledger = open_ledger(ledger_url_for(stack, options.ledger_url), default_dir=stack.root)
    try:
        with ledger.start_run(stack.name, stack.path, "apply", git_commit(stack.root)) as run:
            workers = max(1, min(options.concurrency, len(prepared)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="meshcharts-apply") as pool:
                futures = {
                    name: pool.submit(_apply_cluster, ledger, run, project, stack.clusters[name], items, options, observer)
                    for name, items in prepared.items()
                }
                results = {name: future.result() for name, future in futures.items()}
            return ApplyResult(run.id, ledger.url, results)
    finally:
        ledger.close()


def _apply_cluster(
    ledger: Ledger,
    run: RunHandle,
    project: Project,
    cluster: Cluster,
    prepared: list[PreparedRelease],
    options: ApplyOptions,
    observer: Observer,
) -> ClusterResult:
    """One cluster, in order; a failure stops this cluster only."""
    result = ClusterResult(cluster.name)
    kubeconfig = options.kubeconfig or cluster.kubeconfig
    try:
        observer(cluster.name, None, "waiting for the ledger lock")
        with ledger.lock(project.stack.name, cluster.name, run, timeout=options.lock_timeout):
            observer(cluster.name, None, "reading releases")
            api = api_client(kubeconfig, cluster.context, cluster.name)
            actions = decide(prepared, read_deployed(api, cluster.name))
            helm = HelmClient(
                kubeconfig=Path(kubeconfig).expanduser() if kubeconfig else None,
                kube_context=cluster.context,
                timeout=options.timeout or DEFAULT_TIMEOUT,
                cluster=cluster.name,
            )
            failed = False
            for action in actions:
                settings = options.helm_settings(project.stack.components[action.rendered.release.component])
                outcome = _skip(action, cluster, run) if failed else _apply_release(action, cluster, run, helm, api, settings, observer)
                observer(cluster.name, action.name, outcome.status)
                result.releases.append(outcome)
                failed = failed or outcome.status == "failed"
    except MeshchartsError as error:
        result.error = "; ".join(diagnostic.message for diagnostic in error.diagnostics)
        observer(cluster.name, None, f"error: {result.error}")
        return result
    observer(cluster.name, None, "done" if result.ok else "failed")
    return result


def _spec(action: ReleaseAction, cluster: Cluster) -> ReleaseSpec:
    release = action.rendered.release
    return ReleaseSpec(
        cluster=cluster.name,
        context=cluster.context,
        component=release.component,
        release=release.name,
        namespace=release.namespace,
        chart=release.chart,
        chart_version=action.chart_version,
        values=action.shown_values,
        # Of the values as stored (secrets as placeholders): a hash over the resolved values would let
        # anyone holding the ledger test guesses of a weak secret against it.
        values_hash=canonical_values_hash(action.shown_values),
        chart_digest=f"sha256:{action.chart.digest}",
    )


def _result(action: ReleaseAction, cluster: Cluster, status: str, **extra: Any) -> ReleaseResult:
    release = action.rendered.release
    return ReleaseResult(
        cluster=cluster.name,
        release=release.name,
        component=release.component,
        namespace=release.namespace,
        chart=release.chart,
        version=action.chart_version,
        action=action.action,
        status=status,
        **extra,
    )


def _skip(action: ReleaseAction, cluster: Cluster, run: RunHandle) -> ReleaseResult:
    note = "not attempted: an earlier release of this cluster failed"
    run.record_release(_spec(action, cluster), ReleaseStatus.SKIPPED, note=note)
    return _result(action, cluster, "skipped", note=note)


def _apply_release(
    action: ReleaseAction,
    cluster: Cluster,
    run: RunHandle,
    helm: HelmClient,
    api: Any,
    settings: tuple[bool, bool, str],
    observer: Observer,
) -> ReleaseResult:
    spec = _spec(action, cluster)
    live = action.live
    if action.action == "unchanged":
        run.record_release(spec, ReleaseStatus.UNCHANGED, revision=live.revision if live else None)
        return _result(action, cluster, "unchanged", revision=live.revision if live else None)
    note = None
    if action.action == "recover" and live is not None:
        observer(cluster.name, action.name, f"recovering from {live.status}")
        unlock_pending(api, live, cluster.name)
        note = f"recovered from {live.status} (revision {live.revision} marked failed)"
    atomic, wait, timeout = settings
    started = time.monotonic()
    release_id = run.begin_release(spec, note=note)
    observer(cluster.name, action.name, "installing" if action.action == "install" else "upgrading")
    try:
        deployed = helm.install_or_upgrade(
            action.name,
            action.chart.path,
            action.values,
            namespace=action.namespace,
            atomic=atomic,
            wait=wait,
            timeout=timeout,
            description=action.description,
            component=action.rendered.release.component,
        )
    except MeshchartsError as error:
        message = "; ".join(diagnostic.message for diagnostic in error.diagnostics)
        run.finish_release(release_id, ReleaseStatus.FAILED, error=message, note=note)
        return _result(action, cluster, "failed", error=message, note=note, seconds=time.monotonic() - started)
    revision = int(deployed.get("version", 0)) or None
    run.finish_release(release_id, ReleaseStatus.DEPLOYED, revision=revision, note=note)
    return _result(action, cluster, "deployed", revision=revision, note=note, seconds=time.monotonic() - started)
