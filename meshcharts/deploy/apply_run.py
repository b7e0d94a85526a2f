"""The deploying half of ``meshcharts apply``: the ledger run, and per cluster its locks and releases.

:mod:`meshcharts.deploy.apply` decides, from the plan of every cluster, whether anything is to be
done; only then is this module loaded, with what it needs and a no-change apply does not: the
ledger's database layer (SQLAlchemy), helm's adapter (pyhelm3, pydantic), the cluster lease and the
resource tracking. Together they are most of an unchanged apply's start-up otherwise.

Per cluster: take the ledger's lock and the cluster's lease, read what is deployed again (another
apply may have finished while this one waited), then run the releases in install order, each as
soon as the releases it depends on are done (:mod:`meshcharts.deploy.waves`, up to
``release_concurrency`` at once): an unchanged release makes no helm call, a release stuck pending is
unlocked first, and the first failure stops that cluster (what had not started is recorded as
skipped) while the other clusters carry on. Clusters run in parallel, up to ``concurrency`` at once.
A cluster that cannot be reached or locked gets every release recorded as skipped, with the reason.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypedDict

from meshcharts.compose.project import Project
from meshcharts.core.diagnostics import Diagnostic, MeshchartsError
from meshcharts.core.model import Cluster
from meshcharts.deploy.apply_options import DEFAULT_TIMEOUT, ApplyOptions, Observer
from meshcharts.deploy.lease import ClusterLease
from meshcharts.deploy.lease_record import holder_identity
from meshcharts.deploy.live import ReleaseStore, api_client, describe
from meshcharts.deploy.plan import ClusterPlan, Plan, ReleasePlan
from meshcharts.deploy.planning import plan_cluster
from meshcharts.deploy.releases import ClusterRelease, ClusterReleases, StackReleases
from meshcharts.deploy.results import ApplyResult, ClusterResult, ReleaseResult
from meshcharts.deploy.tracking import LiveCluster, ReleaseTracker, aftermath, timed_out
from meshcharts.deploy.verify import verify_cluster
from meshcharts.deploy.waves import run_in_waves
from meshcharts.helm.client import HelmClient
from meshcharts.helm.runner import interrupt_running_helm
from meshcharts.ledger.provenance import git_commit
from meshcharts.ledger.records import LockHolder, ReleaseSpec, ReleaseStatus, RunOutcome
from meshcharts.ledger.store import Ledger, RunHandle, open_ledger
from meshcharts.ledger.urls import ledger_url_for


def run_apply(project: Project, options: ApplyOptions, observer: Observer, plan: Plan, releases: StackReleases, driver: str) -> ApplyResult:
    """Apply ``plan`` (every cluster planned, nothing refused) and record it all in the ledger as one run."""
    stack = project.stack
    ledger = open_ledger(ledger_url_for(stack, options.ledger_url), default_dir=stack.root)
    try:
        with ledger.start_run(stack.name, stack.path, "apply", git_commit(stack.root)) as run:
            stop = threading.Event()
            workers = max(1, min(options.concurrency, len(plan.clusters)))
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="meshcharts-apply") as pool:
                futures = {
                    name: pool.submit(
                        ClusterApply(ledger, run, project, stack.clusters[name], options, observer, stop, driver).apply, cluster_plan, releases.clusters[name]
                    )
                    for name, cluster_plan in plan.clusters.items()
                }
                try:
                    results = {name: future.result() for name, future in futures.items()}
                except KeyboardInterrupt:
                    results = _wind_down(futures, stop, observer)
                    run.finish(RunOutcome.INTERRUPTED, note="interrupted by the user; releases already running were let finish")
                    return ApplyResult(run.id, ledger.url, results, interrupted=True)
            return ApplyResult(run.id, ledger.url, results)
    finally:
        ledger.close()


def _wind_down(futures: Mapping[str, Future[ClusterResult]], stop: threading.Event, observer: Observer) -> dict[str, ClusterResult]:
    """After an interrupt: start nothing more, let the running helm commands cancel, collect every cluster.

    A second interrupt while waiting is not caught: apply gives up on the summary and raises once the
    cluster threads return (their helm commands have been told to cancel, so within seconds); the
    run is still recorded ``interrupted`` by the ledger's own handler.
    """
    stop.set()
    interrupt_running_helm()
    for name, future in futures.items():
        if not future.done():
            observer(name, None, "interrupted: waiting for the running helm commands to stop")
    return {name: future.result() for name, future in futures.items()}


class _Names(TypedDict):
    cluster: str
    component: str
    release: str
    namespace: str
    chart: str


class ClusterApply:
    """The apply of one cluster: its lock, its one read of the live state, its releases in waves."""

    def __init__(
        self,
        ledger: Ledger,
        run: RunHandle,
        project: Project,
        cluster: Cluster,
        options: ApplyOptions,
        observer: Observer,
        stop: threading.Event | None = None,
        driver: str = "secret",
    ) -> None:
        self.ledger = ledger
        self.run = run
        self.project = project
        self.cluster = cluster
        self.options = options
        self.observer = observer
        self.stop = stop or threading.Event()
        self.driver = driver
        self.kubeconfig = options.kubeconfig or cluster.kubeconfig
        self.outcomes: dict[str, ReleaseResult] = {}

    def apply(self, plan: ClusterPlan, releases: ClusterReleases) -> ClusterResult:
        """Every release of the cluster as its plan says; a failure stops this cluster only."""
        name, stack_name = self.cluster.name, self.project.stack.name
        result = ClusterResult(name)
        try:
            if plan.error is not None:
                raise MeshchartsError(Diagnostic(message=plan.error, rule="cluster.unreachable", cluster=name))
            self.observer(name, None, "locking")
            lock = self.ledger.lock(stack_name, name, self.run, timeout=self.options.lock_timeout, on_wait=self._waiting, cancel=self.stop)
            with lock:
                self.observer(name, None, "reading releases")
                api = api_client(self.kubeconfig, self.cluster.context, name)
                try:
                    # The ledger's lock sees only applies sharing this ledger; the cluster's lease sees every one.
                    with ClusterLease(api, stack_name, name, holder_identity(self.run.id, self.ledger.url), timeout=self.options.lock_timeout,
                                      on_wait=lambda holder: self.observer(name, None, f"waiting for the cluster lease held by {holder}"),
                                      on_lost=lambda why: self.observer(name, None, why), cancel=self.stop):
                        store = ReleaseStore(api, name, self.driver)
                        plan = self._current(plan, releases, store)
                        self._waves(plan, releases, store)
                        if any(outcome.status == "deployed" for outcome in self.outcomes.values()) and not self.stop.is_set():
                            self.observer(name, None, "verifying the wiring")
                            result.wiring = verify_cluster(self.project, name, api).problems
                finally:
                    api.close()
        except MeshchartsError as error:
            result.error = "; ".join(diagnostic.message for diagnostic in error.diagnostics)
            self.observer(name, None, f"not applied: {result.error}")
            by_name = {release.name: release for release in plan.releases}
            for item in releases:
                if item.name not in self.outcomes:
                    action = by_name[item.name].action if item.name in by_name else None
                    self.outcomes[item.name] = self._skip(item, action, f"not attempted: {result.error}")
        result.releases = [self.outcomes[item.name] for item in releases if item.name in self.outcomes]
        if result.error is None:
            self.observer(name, None, "done" if result.ok else "failed")
        return result

    def _current(self, plan: ClusterPlan, releases: ClusterReleases, store: ReleaseStore) -> ClusterPlan:
        """The plan, re-made under the lock if a release moved on the cluster since it was made (another
        apply finished while this one waited for the lock): apply acts on what is live now."""
        if not plan.moved(store.deployed({item.name for item in releases})):
            return plan
        self.observer(self.cluster.name, None, "planning again: releases changed while waiting for the lock")
        fresh = plan_cluster(self.project, releases, self.options.kubeconfig, self.driver, wiring=False)
        if fresh.error is not None:
            raise MeshchartsError(Diagnostic(message=fresh.error, rule="cluster.unreachable", cluster=self.cluster.name))
        if any(problem.is_error for problem in fresh.problems):
            raise MeshchartsError(fresh.problems)
        return fresh

    def _waiting(self, holder: LockHolder) -> None:
        self.observer(self.cluster.name, None, f"waiting for the lock held by {holder.describe()}")

    def _waves(self, plan: ClusterPlan, releases: ClusterReleases, store: ReleaseStore) -> None:
        helm = HelmClient(
            kubeconfig=Path(self.kubeconfig).expanduser() if self.kubeconfig else None,
            kube_context=self.cluster.context,
            timeout=self.options.timeout or DEFAULT_TIMEOUT,
            cluster=self.cluster.name,
        )
        by_name = {release.name: release for release in plan.releases}
        order = [item.name for item in releases]
        if any(release.changes for release in plan.releases):
            helm.version()  # once, before the releases' threads would each ask for the flags it decides

        def run(name: str) -> bool:
            outcome = self._apply_release(by_name[name], helm, store)
            self.outcomes[name] = outcome
            self.observer(self.cluster.name, name, outcome.status)
            return outcome.status != "failed"

        def skip(name: str, failed: str | None) -> None:
            if self.stop.is_set():
                why = "the apply was interrupted"
            elif failed is not None:
                why = f"{failed} failed on {self.cluster.name}"
            else:
                why = "what it depends on was not applied"
            release = by_name[name]
            self.outcomes[name] = self._skip(release.item, release.action, f"not attempted: {why}")
            self.observer(self.cluster.name, name, "skipped")

        run_in_waves(order, releases.dependencies(), run, skip, limit=self.options.release_concurrency, stop=self.stop)

    def _names(self, item: ClusterRelease) -> _Names:
        """Where a release goes: what the ledger row and the result both say first."""
        release = item.release
        return _Names(cluster=self.cluster.name, component=release.component, release=release.name,
                      namespace=release.namespace, chart=release.chart)

    def _spec(self, item: ClusterRelease) -> ReleaseSpec:
        return ReleaseSpec(
            **self._names(item),
            context=self.cluster.context,
            chart_version=item.chart_version,
            values=item.values,
            # The values identity: of the values as stored (secrets as placeholders); a hash over the
            # resolved values would let anyone holding the ledger test guesses of a weak secret against it.
            values_hash=item.identity,
            chart_digest=f"sha256:{item.chart.digest}" if item.chart is not None else "",
        )

    def _result(self, item: ClusterRelease, action: str | None, status: str, **extra: Any) -> ReleaseResult:
        return ReleaseResult(**self._names(item), version=item.chart_version, action=action, status=status, **extra)

    def _skip(self, item: ClusterRelease, action: str | None, note: str) -> ReleaseResult:
        self.run.record_release(self._spec(item), ReleaseStatus.SKIPPED, note=note)
        return self._result(item, action, "skipped", note=note)

    def _apply_release(self, planned: ReleasePlan, helm: HelmClient, store: ReleaseStore) -> ReleaseResult:
        item, live, name, action = planned.item, planned.live, self.cluster.name, planned.action
        spec = self._spec(item)
        if action == "unchanged":
            revision = live.revision if live else None
            self.run.record_release(spec, ReleaseStatus.UNCHANGED, revision=revision)
            return self._result(item, action, "unchanged", revision=revision)
        note = f"drift: {planned.reason}" if action == "restore" else None
        if action == "recover" and live is not None:
            self.observer(name, item.name, f"recovering from {live.status}")
            try:
                store.unlock(live)
            except MeshchartsError as error:
                message = "; ".join(diagnostic.message for diagnostic in error.diagnostics)
                self.run.record_release(spec, ReleaseStatus.FAILED, revision=live.revision, error=message)
                return self._result(item, action, "failed", revision=live.revision, error=message)
            self.run.record_release(
                spec, ReleaseStatus.RECOVERED, revision=live.revision,
                note=f"revision {live.revision} was left {live.status} by an interrupted run; marked failed so helm can upgrade",
            )
            note = f"recovered from {live.status} (revision {live.revision} marked failed)"
        atomic, wait, timeout = self.options.helm_settings(self.project.stack.components[item.component])
        started = time.monotonic()
        release_id = self.run.begin_release(spec, note=note)
        assert item.chart is not None and item.resolved is not None, "charts and secrets are settled before any cluster is touched"
        verb = {"install": "installing", "restore": "restoring"}.get(action, "upgrading")
        tracker = ReleaseTracker(LiveCluster(store.api), store, item.namespace, item.name, newer_than=live.revision if live else 0,
                                 report=lambda text: self.observer(name, item.name, f"{verb}: {text}")).start() if wait else None
        try:
            self.observer(name, item.name, verb)
            deployed = helm.install_or_upgrade(
                item.name,
                item.chart.path,
                item.resolved,
                namespace=item.namespace,
                atomic=atomic,
                wait=wait,
                timeout=timeout,
                description=describe(item.chart.digest, item.identity),
                component=item.component,
            )
        except MeshchartsError as error:
            message = "; ".join(diagnostic.message for diagnostic in error.diagnostics)
            why = tracker.reason(fresh=not atomic) if tracker and timed_out(message) else None  # after --atomic, only the looks during the wait
            message = f"{message}; {item.redact(why)}" if why else message
            failed = store.release(item.namespace, item.name)  # the revision helm left behind, if any
            note = "; ".join(part for part in (note, aftermath(live, failed, message)) if part) or None
            revision = failed.revision if failed is not None and failed.revision != (live.revision if live else None) else None
            self.run.finish_release(release_id, ReleaseStatus.FAILED, revision=revision, error=message, note=note)
            return self._result(item, action, "failed", revision=revision, error=message, note=note, seconds=time.monotonic() - started)
        finally:
            if tracker is not None:
                tracker.stop()  # before apply says what became of the release: no late "waiting for" after it
        revision = int(deployed.get("version", 0)) or None
        self.run.finish_release(release_id, ReleaseStatus.DEPLOYED, revision=revision, note=note)
        return self._result(item, action, "deployed", revision=revision, note=note, seconds=time.monotonic() - started)
