"""Reading the ledger: runs and releases as records, newest first, and the repair of dead runs.

Kept apart from the writers so ``history`` is a handful of SELECTs one can read in one sitting.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Select, select, update

from meshcharts.ledger.liveness import Liveness, utcnow
from meshcharts.ledger.records import (
    LIVE_STATUSES,
    ReleaseRecord,
    ReleaseStatus,
    RunOutcome,
    RunRecord,
)
from meshcharts.ledger.schema import locks, releases, runs, value_sets


def run_record(row: Any) -> RunRecord:
    return RunRecord(
        id=row.id,
        stack_name=row.stack_name,
        stack_path=row.stack_path,
        command=row.command,
        who=row.who,
        host=row.host,
        pid=row.pid,
        git_commit=row.git_commit,
        meshcharts_version=row.meshcharts_version,
        outcome=RunOutcome(row.outcome),
        started_at=row.started_at,
        ended_at=row.ended_at,
        heartbeat_at=row.heartbeat_at,
        note=row.note,
    )


def release_record(row: Any) -> ReleaseRecord:
    return ReleaseRecord(
        id=row.id,
        run_id=row.run_id,
        stack_name=row.stack_name,
        cluster=row.cluster,
        context=row.context,
        component=row.component,
        release=row.release,
        namespace=row.namespace,
        chart=row.chart,
        chart_version=row.chart_version,
        chart_digest=row.chart_digest,
        values_hash=row.values_hash,
        values=json.loads(row.values_json),
        helm_revision=row.helm_revision,
        status=ReleaseStatus(row.status),
        started_at=row.started_at,
        ended_at=row.ended_at,
        error=row.error,
        note=row.note,
    )


def _releases() -> Select[Any]:
    return (
        select(releases, runs.c.stack_name, value_sets.c.values_json)
        .join(runs, runs.c.id == releases.c.run_id)
        .join(value_sets, value_sets.c.hash == releases.c.values_hash)
    )


def select_releases(
    *,
    cluster: str | None = None,
    component: str | None = None,
    stack_name: str | None = None,
    run_id: int | None = None,
    statuses: frozenset[ReleaseStatus] | None = None,
    limit: int | None = None,
) -> Select[Any]:
    """Releases newest first (by id: ids grow with time within one database, clocks may not)."""
    query = _releases()
    if statuses is not None:
        query = query.where(releases.c.status.in_(sorted(status.value for status in statuses)))
    if cluster is not None:
        query = query.where(releases.c.cluster == cluster)
    if component is not None:
        query = query.where(releases.c.component == component)
    if stack_name is not None:
        query = query.where(runs.c.stack_name == stack_name)
    if run_id is not None:
        query = query.where(releases.c.run_id == run_id)
    query = query.order_by(releases.c.id.desc())
    return query.limit(limit) if limit is not None else query


def select_last_live(stack_name: str, cluster: str, component: str) -> Select[Any]:
    return select_releases(cluster=cluster, component=component, stack_name=stack_name, statuses=LIVE_STATUSES, limit=1)


def select_runs(*, ids: list[int] | None = None, stack_name: str | None = None, limit: int | None = None) -> Select[Any]:
    query = select(runs)
    if ids is not None:
        query = query.where(runs.c.id.in_(ids))
    if stack_name is not None:
        query = query.where(runs.c.stack_name == stack_name)
    query = query.order_by(runs.c.id.desc())
    return query.limit(limit) if limit is not None else query


def repair_dead_runs(connection: Connection, liveness: Liveness) -> list[int]:
    """Mark every ``running`` run whose process is gone ``interrupted``; the ids repaired."""
    repaired = []
    for run in connection.execute(select(runs).where(runs.c.outcome == RunOutcome.RUNNING.value)).all():
        why = liveness.dead_because(connection, run)
        if why is not None and mark_interrupted(connection, run, why):
            repaired.append(run.id)
    return repaired


def mark_interrupted(connection: Connection, run: Any, why: str) -> bool:
    """The run and its pending releases become ``interrupted`` (never ``deployed``: helm never said so).

    They end at the run's last heartbeat, the last moment anyone knows it was alive. False when
    another process repaired it first.
    """
    found = utcnow().strftime("%Y-%m-%d %H:%M:%SZ")
    changed = connection.execute(
        update(runs)
        .where(runs.c.id == run.id, runs.c.outcome == RunOutcome.RUNNING.value)
        .values(outcome=RunOutcome.INTERRUPTED.value, ended_at=run.heartbeat_at, note=f"interrupted: {why} (found {found})")
    ).rowcount
    if not changed:
        return False
    connection.execute(
        update(releases)
        .where(releases.c.run_id == run.id, releases.c.status == ReleaseStatus.PENDING.value)
        .values(
            status=ReleaseStatus.INTERRUPTED.value,
            ended_at=run.heartbeat_at,
            note=f"run {run.id} was interrupted while helm ran: check the release's live status",
        )
    )
    connection.execute(locks.delete().where(locks.c.run_id == run.id))
    return True
