"""The ledger as automation reads it: ``meshcharts.history(project)``, newest first."""

from __future__ import annotations

from meshcharts.compose.project import Project
from meshcharts.ledger.records import ReleaseRecord
from meshcharts.ledger.store import open_ledger
from meshcharts.ledger.urls import ledger_url_for


def release_history(
    project: Project,
    *,
    ledger_url: str | None = None,
    cluster: str | None = None,
    component: str | None = None,
    limit: int | None = 50,
) -> list[ReleaseRecord]:
    """Releases of this stack recorded by ``apply``, newest first (the ledger beside the stack by default)."""
    with open_ledger(ledger_url_for(project.stack, ledger_url), default_dir=project.stack.root) as ledger:
        return ledger.history(cluster=cluster, component=component, stack_name=project.stack.name, limit=limit)
