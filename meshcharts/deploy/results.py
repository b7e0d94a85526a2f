"""What an apply did: per release, per cluster, per run, in the shape the CLI prints and ``--output json`` gives.

Plain data, apart from the engine that fills it in (:mod:`meshcharts.deploy.apply`, :mod:`~meshcharts.deploy.apply_run`), so that the
progress view, the JSON document and scripts using ``meshcharts.apply(...)`` read one model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshcharts.core.diagnostics import Diagnostic


@dataclass(frozen=True)
class ReleaseResult:
    """What happened to one release: the action chosen and how it ended."""

    cluster: str
    release: str
    component: str
    namespace: str
    chart: str
    version: str
    action: str | None  # install | upgrade | recover | unchanged; None when the cluster was never read
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
    """One cluster's releases in install order, or why nothing was done there (``error``)."""

    name: str
    releases: list[ReleaseResult] = field(default_factory=list)
    error: str | None = None  # the cluster could not be reached or locked: nothing was done there
    wiring: list[Diagnostic] = field(default_factory=list)  # what verify found after the releases were deployed

    @property
    def ok(self) -> bool:
        return self.error is None and all(item.status in ("deployed", "unchanged") for item in self.releases)


@dataclass
class ApplyResult:
    """What one apply did, per cluster; ``run_id`` is its run in the ``ledger``, both None when the plan
    found nothing to change anywhere and nothing was run or recorded."""

    run_id: int | None
    ledger: str | None
    clusters: dict[str, ClusterResult]
    interrupted: bool = False  # the user stopped it: what had not started was skipped

    @property
    def ok(self) -> bool:
        return not self.interrupted and all(cluster.ok for cluster in self.clusters.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "interrupted": self.interrupted,
            "run": self.run_id,
            "ledger": self.ledger,
            "clusters": {
                name: {
                    "ok": result.ok,
                    "error": result.error,
                    "releases": [item.as_json() for item in result.releases],
                    "wiring": [problem.as_json() for problem in result.wiring],
                }
                for name, result in self.clusters.items()
            },
        }
