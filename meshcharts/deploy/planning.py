"""``meshcharts plan`` and ``meshcharts drift``: every selected cluster planned at once, read-only.

The releases are built once (:func:`~meshcharts.deploy.releases.build_releases`), their generated
charts written to a private folder, their charts and secrets resolved for every cluster before any
cluster is asked anything; then the clusters are planned in parallel, each in a few bounded reads
(discovery, helm's release records, one GET per object, a dry run where needed). A cluster that does
not answer gets ``error`` set and the others go on.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from meshcharts.compose.project import Project
from meshcharts.core.diagnostics import ConfigError, Diagnostic, MeshchartsError
from meshcharts.core.model import Cluster
from meshcharts.deploy.discovery import discover
from meshcharts.deploy.live import ReleaseStore, api_client, helm_driver
from meshcharts.deploy.liveobjects import LiveObjects
from meshcharts.deploy.plan import ClusterPlan, Plan
from meshcharts.deploy.planner import failure, helm_renderer, plan_releases
from meshcharts.deploy.prepare import prepare_cluster
from meshcharts.deploy.preflight_run import would_fail
from meshcharts.deploy.releases import ClusterReleases, StackReleases, build_releases
from meshcharts.deploy.render import write_releases
from meshcharts.deploy.sources import read_lock
from meshcharts.deploy.verify import verify_cluster
from meshcharts.helm.ondemand import OnDemandHelm


@dataclass(frozen=True)
class PlanOptions:
    """What to plan: one cluster or all, where to reach them, where ``!env`` secrets are read."""

    cluster: str | None = None
    kubeconfig: str | None = None
    concurrency: int = 4
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)
    wiring: bool = True  # also read the live wiring (verify's checks) where every release exists


def settle_releases(
    project: Project, cluster: str | None, output: Path | None, environ: Mapping[str, str], scratch: Path | None = None, *, secrets: bool = True
) -> StackReleases:
    """Build, render (into ``output``; None: the stack's charts-out) and resolve every selected cluster's releases; all problems at once.

    Nothing here talks to a cluster: a chart not pulled or a secret missing fails before any does.
    """
    releases = build_releases(project, cluster)
    rendered = write_releases(releases, output)
    lock = read_lock(project.stack.root)
    problems: list[Diagnostic] = []
    for name, cluster_releases in releases.clusters.items():
        try:
            prepare_cluster(project, cluster_releases, rendered.output / name, lock, environ, scratch, secrets=secrets)
        except ConfigError as error:
            problems.extend(error.diagnostics)
    if problems:
        raise ConfigError(problems)
    return releases


def plan_cluster(
    project: Project, releases: ClusterReleases, kubeconfig: str | None, driver: str, *, drift_only: bool = False, wiring: bool = True
) -> ClusterPlan:
    """One cluster's plan; a cluster that cannot be reached is a plan with ``error`` set, never an exception.

    When every release already exists on the cluster, the plan also carries what ``verify`` finds in
    the live wiring (Kiali's URLs, monitor selectors, CRDs, dashboards): a release still to be installed
    would make those findings noise.
    """
    cluster: Cluster = releases.cluster
    plan = ClusterPlan(cluster.name, cluster.context)
    config = kubeconfig or cluster.kubeconfig
    try:
        api = api_client(config, cluster.context, cluster.name)
    except MeshchartsError as error:
        plan.error = failure(cluster.name, error)
        return plan
    try:
        facts = discover(api, cluster.name)
        plan.kubernetes = facts.version
        deployed = ReleaseStore(api, cluster.name, driver).deployed({item.name for item in releases})
        helm = OnDemandHelm(kubeconfig=Path(config).expanduser() if config else None, kube_context=cluster.context, cluster=cluster.name)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="meshcharts-verify") as aside:
            # The live wiring is read beside the objects (independent reads), only where every release exists.
            live_wiring = aside.submit(verify_cluster, project, cluster.name, api, facts) if wiring and not drift_only and all(
                (item.namespace, item.name) in deployed for item in releases
            ) else None
            planned = plan_releases(list(releases), deployed, facts, LiveObjects(api, facts), helm_renderer(helm, facts), drift_only=drift_only)
            plan.releases = [release for release, _ in planned]
            if not drift_only and any(release.changes for release in plan.releases):
                plan.problems = would_fail(facts, planned, helm.version())
            if live_wiring is not None:
                plan.wiring = [problem for problem in live_wiring.result().problems if problem.rule != "cluster.unreachable"]
    except MeshchartsError as error:
        plan.error = failure(cluster.name, error)
    finally:
        api.close()
    return plan


def plan_stack(releases: StackReleases, options: PlanOptions, *, drift_only: bool = False) -> Plan:
    """Every cluster of ``releases`` planned in parallel (``options.concurrency`` at once)."""
    driver = helm_driver(os.environ)
    clusters = releases.clusters
    workers = max(1, min(options.concurrency, len(clusters)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="meshcharts-cluster") as pool:
        project = releases.project
        futures = {
            name: pool.submit(plan_cluster, project, items, options.kubeconfig, driver, drift_only=drift_only, wiring=options.wiring)
            for name, items in clusters.items()
        }
        plans = {name: future.result() for name, future in futures.items()}
    return Plan(releases.project.stack.name, releases.digest, plans)


def plan_project(project: Project | Path | str, options: PlanOptions | None = None, *, drift_only: bool = False) -> Plan:
    """``meshcharts plan`` (or ``drift`` with ``drift_only``): read-only, nothing written to any cluster."""
    options = options or PlanOptions()
    helm_driver(os.environ)  # an unsupported HELM_DRIVER is a config error before anything runs
    if not isinstance(project, Project):
        project = Project.open(project)
    with tempfile.TemporaryDirectory(prefix="meshcharts-plan-") as scratch:
        releases = settle_releases(project, options.cluster, Path(scratch) / "charts", options.environ, secrets=not drift_only)
        return plan_stack(releases, options, drift_only=drift_only)


def drift_project(project: Project | Path | str, options: PlanOptions | None = None) -> Plan:
    """``meshcharts drift``: each deployed release's objects against the live ones, whatever the stack says now.

    Needs no secret from the environment: the deployed manifest is the reference, and the deployed
    secrets (read from helm's record) are what is redacted from the diffs.
    """
    return plan_project(project, options, drift_only=True)
