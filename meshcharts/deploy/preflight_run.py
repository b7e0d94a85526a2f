"""What would fail on a cluster, from a plan: the pre-flight checks and what the cluster or helm refused.

Only the releases the plan would install or change are judged (an unchanged release is not applied,
though its objects still count: the namespaces and CRDs it provides). The pre-flight checks
(:mod:`meshcharts.deploy.preflight`) run on the objects each release would apply, with the chart's
kubeVersion and crds/. A chart helm could not render is reported at the component; a dry run the
API server refused (an invalid field, a claim shrunk) at the values line that changed when exactly one
value of the release changed (that change is what the server refuses), else at the component with
the changed values and their lines in the message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import semver

from meshcharts.core.diagnostics import Diagnostic, Location
from meshcharts.deploy.chartfiles import chart_crds, chart_kube_version
from meshcharts.deploy.discovery import ClusterFacts
from meshcharts.deploy.plan import ReleasePlan
from meshcharts.deploy.preflight import ReleaseObjects, preflight


def would_fail(facts: ClusterFacts, planned: Sequence[tuple[ReleasePlan, list[dict[str, Any]]]], helm: semver.Version | None = None) -> list[Diagnostic]:
    """Every reason apply would fail on this cluster, before it is tried (nothing when nothing changes)."""
    if not any(release.changes for release, _ in planned):
        return []
    releases = []
    for release, objects in planned:
        item = release.item
        changing = release.changes and item.chart is not None
        releases.append(
            ReleaseObjects(
                cluster=facts.cluster, component=item.component, release=item.name, namespace=item.namespace, objects=objects,
                kube_version=chart_kube_version(item.chart.path) if changing and item.chart is not None else None,
                crds=chart_crds(item.chart.path) if changing and item.chart is not None else [],
                composition=item.composition,
            )
        )
    problems = preflight(facts, releases, helm=helm)
    judged = {(problem.component, problem.rule) for problem in problems}
    for release, _objects in planned:
        item = release.item
        where = item.composition.component.location if item.composition is not None else None
        if release.error and (item.component, "preflight.kube-version") not in judged:
            problems.append(Diagnostic(message=release.error, rule="plan.render", cluster=facts.cluster, component=item.component, location=where))
        for change in release.objects:
            if change.error:
                location, path, because = _cause(release, where)
                problems.append(
                    Diagnostic(
                        message=f"the API server refuses {change.key}: {change.error}{because}", rule="plan.rejected",
                        cluster=facts.cluster, component=item.component, location=location, path=path,
                    )
                )
    return problems


def _cause(release: ReleasePlan, component: Location | None) -> tuple[Location | None, str, str]:
    """Where a refusal of ``release``'s objects comes from: (location, values path, words for the message).

    One changed value set in a file: that line. Otherwise the component, with every changed value and
    where it is set (the server's message names the object's field, not the values key behind it).
    """
    changed = release.values
    if len(changed) == 1 and changed[0].location is not None:
        return changed[0].location, changed[0].path, ""
    if not changed:
        return component, "", ""
    listed = ", ".join(f"{value.path} ({value.location or value.source or 'default'})" for value in changed)
    return component, "", f" (values changed in this release: {listed})"
