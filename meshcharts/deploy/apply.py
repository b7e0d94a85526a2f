"""``meshcharts apply``: ``helm upgrade --install`` every release, in install order, on every cluster.

The releases are exactly what ``render`` writes (render runs first, into the same ``charts-out/``), so
what a reviewer reads in ``charts-out/<cluster>/releases.yaml`` is what gets installed (from a private
copy taken at once, so a concurrent render cannot change a chart under helm). apply plans every cluster
first, as ``meshcharts plan`` does (the live objects compared, so drift counts as a change), and
refuses before touching any cluster if one would fail.

When the plan finds nothing to do on any cluster, apply ends there, as helmfile's apply does when its
diff is empty: no lock, no lease, no helm call and no ledger run (nothing was deployed, so there is
nothing to record; ``meshcharts drift`` is the command that watches). Otherwise
:mod:`meshcharts.deploy.apply_run` deploys and records, loaded only then (see its docstring).

Every step of a run is recorded in the ledger as it happens: a release row is written ``pending``
before helm starts and completed with what helm said, so a run killed half-way leaves rows the next
run marks interrupted, and nothing is ever recorded as deployed that helm did not deploy.

Interrupted (Ctrl-C, or SIGTERM through the CLI), apply starts nothing more on any cluster, passes
SIGINT on to the helm commands it is running (helm then cancels and records the release failed,
instead of leaving it pending), waits for them to answer, and returns what was and was not done
with ``interrupted`` set; the run is recorded ``interrupted``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from meshcharts.compose.project import Project
from meshcharts.core.diagnostics import InvalidInput
from meshcharts.deploy.apply_options import ApplyOptions, Observer, quiet
from meshcharts.deploy.live import helm_driver
from meshcharts.deploy.plan import Plan
from meshcharts.deploy.planning import PlanOptions, plan_stack, settle_releases
from meshcharts.deploy.results import ApplyResult, ClusterResult, ReleaseResult
from meshcharts.deploy.run_checks import check_run_settings
from meshcharts.deploy.saved_plan import SavedPlan, check_saved_plan

__all__ = ["ApplyOptions", "ApplyResult", "apply_project"]


def apply_project(
    project: Project | Path | str,
    options: ApplyOptions | None = None,
    observer: Observer = quiet,
    saved: SavedPlan | None = None,
) -> ApplyResult:
    """Render, check every chart and secret, plan every cluster, then apply cluster by cluster and record it all.

    ``project`` may be an open :class:`Project` or the path of a stack (file or folder). Raises
    :class:`ConfigError`/:class:`InvalidInput` before touching any cluster when the stack is invalid,
    a chart was not pulled, a secret is missing, a cluster would refuse what it is given (the plan's
    pre-flight checks), or ``saved`` (a plan saved by ``meshcharts plan --out``) no longer matches the
    stack, a chart or a live release. Cluster and helm failures are in the result. When no cluster has
    anything to change, the result says so (``run_id`` None) and nothing is locked, run or recorded.
    """
    options = options or ApplyOptions()
    # The helm that apply runs inherits this environment, so its HELM_DRIVER is where helm keeps releases.
    driver = helm_driver(os.environ)
    if not isinstance(project, Project):
        project = Project.open(project)
    check_run_settings(project, options)
    with tempfile.TemporaryDirectory(prefix="meshcharts-apply-") as scratch:
        releases = settle_releases(project, options.cluster, options.output_dir, options.environ, Path(scratch))
        for name in releases.clusters:
            observer(name, None, "planning")
        # Without the live wiring: apply verifies a cluster after deploying to it, when it is worth knowing.
        plan = plan_stack(releases, PlanOptions(options.cluster, options.kubeconfig, options.concurrency, options.environ, wiring=False))
        if saved is not None:
            check_saved_plan(saved, plan)
        problems = [problem for cluster in plan.clusters.values() for problem in cluster.problems if problem.is_error]
        if problems:
            raise InvalidInput(problems)
        if _nothing_to_do(plan):
            return _unchanged(plan, observer)
        from meshcharts.deploy.apply_run import run_apply  # the ledger, helm and the lease: only when there is work

        return run_apply(project, options, observer, plan, releases, driver)


def _nothing_to_do(plan: Plan) -> bool:
    """Every cluster read and every release in it unchanged (its chart, values and live objects)."""
    return all(cluster.error is None for cluster in plan.clusters.values()) and all(
        release.action == "unchanged" for cluster in plan.clusters.values() for release in cluster.releases
    )


def _unchanged(plan: Plan, observer: Observer) -> ApplyResult:
    results: dict[str, ClusterResult] = {}
    for name, cluster in plan.clusters.items():
        releases = []
        for planned in cluster.releases:
            item = planned.item
            release = item.release
            releases.append(ReleaseResult(
                cluster=name, release=release.name, component=release.component, namespace=release.namespace, chart=release.chart,
                version=item.chart_version, action="unchanged", status="unchanged", revision=planned.live.revision if planned.live else None,
            ))
            observer(name, release.name, "unchanged")
        results[name] = ClusterResult(name, releases)
        observer(name, None, "done")
    return ApplyResult(None, None, results)
