"""What the ledger hands back: plain frozen dataclasses, with ``as_json()`` for ``--output json``.

Also the vocabulary (run outcomes, release statuses) and :class:`ReleaseSpec`, what a caller says
about a release before helm runs. Standard library only: ``apply``'s and ``history``'s reporters use
these without touching the database layer.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class RunOutcome(str, enum.Enum):
    """How a run ended. ``interrupted``: its process died (kill -9, lost host) and a later run said so."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class ReleaseStatus(str, enum.Enum):
    """What happened to one release in one run.

    ``pending``: helm was started and has not answered (a crash leaves it so until repair marks it
    ``interrupted``; it never becomes ``deployed`` unless helm said so). ``unchanged``: nothing to do,
    no helm call. ``recovered``: a release stuck in pending-install/upgrade/rollback was repaired.
    ``exported``: ``meshcharts export`` wrote it for a GitOps engine, which installs it (no helm call here).
    """

    PENDING = "pending"
    DEPLOYED = "deployed"
    UNCHANGED = "unchanged"
    FAILED = "failed"
    SKIPPED = "skipped"
    RECOVERED = "recovered"
    INTERRUPTED = "interrupted"
    EXPORTED = "exported"


FINAL_STATUSES = frozenset(ReleaseStatus) - {ReleaseStatus.PENDING}
LIVE_STATUSES = frozenset({ReleaseStatus.DEPLOYED, ReleaseStatus.UNCHANGED})
"""Statuses after which the release's chart and values are what runs in the cluster."""


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class ReleaseSpec:
    """One release as the caller is about to record it.

    ``values`` must already have every secret redacted: the ledger stores them exactly as given
    (JSON) and refuses anything that is not plain data, so a secret-carrying object fails loudly
    instead of being written. ``values_hash`` is the caller's fingerprint of the composed values
    (it decides "unchanged"); :func:`meshcharts.ledger.values.hash_values` computes one.
    """

    cluster: str
    context: str
    component: str
    release: str
    namespace: str
    chart: str
    chart_version: str
    values: Mapping[str, Any]
    values_hash: str
    chart_digest: str | None = None


@dataclass(frozen=True)
class RunRecord:
    """One run of a command (``apply``) against a stack, as the ledger holds it."""

    id: int
    stack_name: str
    stack_path: str
    command: str
    who: str
    host: str
    pid: int
    git_commit: str | None
    meshcharts_version: str
    outcome: RunOutcome
    started_at: datetime
    ended_at: datetime | None
    heartbeat_at: datetime
    note: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "stack": self.stack_name,
            "stack_path": self.stack_path,
            "command": self.command,
            "who": self.who,
            "host": self.host,
            "pid": self.pid,
            "git_commit": self.git_commit,
            "meshcharts_version": self.meshcharts_version,
            "outcome": self.outcome.value,
            "started_at": _time(self.started_at),
            "ended_at": _time(self.ended_at),
            "heartbeat_at": _time(self.heartbeat_at),
            "note": self.note,
        }


@dataclass(frozen=True)
class ReleaseRecord:
    """One release of one run: where it went, what chart and values, what helm said."""

    id: int
    run_id: int
    stack_name: str
    cluster: str
    context: str
    component: str
    release: str
    namespace: str
    chart: str
    chart_version: str
    chart_digest: str | None
    values_hash: str
    values: dict[str, Any]
    helm_revision: int | None
    status: ReleaseStatus
    started_at: datetime
    ended_at: datetime | None
    error: str | None
    note: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run": self.run_id,
            "stack": self.stack_name,
            "cluster": self.cluster,
            "context": self.context,
            "component": self.component,
            "release": self.release,
            "namespace": self.namespace,
            "chart": self.chart,
            "chart_version": self.chart_version,
            "chart_digest": self.chart_digest,
            "values_hash": self.values_hash,
            "values": self.values,
            "helm_revision": self.helm_revision,
            "status": self.status.value,
            "started_at": _time(self.started_at),
            "ended_at": _time(self.ended_at),
            "error": self.error,
            "note": self.note,
        }


@dataclass(frozen=True)
class LockHolder:
    """Who holds a stack+cluster lock: enough to find the process or the person."""

    run_id: int
    who: str
    host: str
    pid: int
    since: datetime

    def describe(self) -> str:
        return f"run {self.run_id} ({self.who}, pid {self.pid}, since {self.since.strftime('%Y-%m-%d %H:%M:%SZ')})"
