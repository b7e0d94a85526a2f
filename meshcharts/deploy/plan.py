"""What a plan says: per cluster and release, the action, the objects to add, change and destroy, the
values that changed with the layer file:line that set them, and what would fail there.

Plain data (built by :mod:`meshcharts.deploy.planner`), shared by ``meshcharts plan`` (text, JSON,
markdown), saved plans (``--out``), ``meshcharts drift`` and apply, which acts on exactly these
actions. Nothing here holds a secret in clear: diffs are redacted when they are made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from meshcharts.core.diagnostics import Diagnostic, Location
from meshcharts.deploy.live import DeployedRelease
from meshcharts.deploy.liveobjects import ObjectKey
from meshcharts.deploy.objdiff import FieldChange
from meshcharts.deploy.releases import ClusterRelease

#: Release actions. ``restore``: same chart and values as deployed, but objects changed live (drift).
ACTIONS = ("install", "upgrade", "restore", "recover", "unchanged")
PLAN_FORMAT = "meshcharts.plan/v1"


@dataclass(frozen=True)
class ObjectChange:
    """One object to add, change or destroy; ``drift``: the stack renders it as deployed, the cluster's copy moved."""

    key: ObjectKey
    change: str  # add | change | destroy
    drift: bool = False
    fields: tuple[FieldChange, ...] = ()
    diff: str = ""
    error: str | None = None  # the API server refused the object in a dry run

    def as_json(self) -> dict[str, Any]:
        return {
            **self.key.as_json(),
            "change": self.change,
            "drift": self.drift,
            "fields": [item.as_json() for item in self.fields],
            "diff": self.diff,
            "error": self.error,
        }


@dataclass(frozen=True)
class ValueChange:
    """A composed value that differs from the deployed revision's, with where it is set now."""

    path: str
    before: Any
    after: Any
    location: Location | None = None  # where the layer that set it sets it (None: defaults or wiring)
    source: str | None = None  # which layer or derivation set it

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after, "location": str(self.location) if self.location else None, "source": self.source}


@dataclass
class ReleasePlan:
    """One release on one cluster: what apply will do to it, and why."""

    item: ClusterRelease
    action: str
    reason: str
    live: DeployedRelease | None = None
    objects: list[ObjectChange] = field(default_factory=list)
    values: list[ValueChange] = field(default_factory=list)
    chart_digest: str | None = None
    error: str | None = None  # helm could not render the release for this cluster

    @property
    def name(self) -> str:
        return self.item.name

    @property
    def changes(self) -> bool:
        return self.action != "unchanged"

    def count(self, change: str) -> int:
        return sum(1 for item in self.objects if item.change == change)

    def as_json(self) -> dict[str, Any]:
        item = self.item
        return {
            "release": item.name,
            "component": item.component,
            "namespace": item.namespace,
            "chart": item.release.chart,
            "version": item.chart_version,
            "chartDigest": self.chart_digest,
            "valuesIdentity": item.identity,
            "liveRevision": self.live.revision if self.live else None,
            "liveStatus": self.live.status if self.live else None,
            "action": self.action,
            "reason": self.reason,
            "error": self.error,
            "after": sorted(item.after),
            "objects": [change.as_json() for change in self.objects],
            "values": [change.as_json() for change in self.values],
        }


@dataclass
class ClusterPlan:
    """One cluster's releases in install order, what would fail there, or why it could not be planned."""

    name: str
    context: str
    releases: list[ReleasePlan] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)  # would fail on apply
    wiring: list[Diagnostic] = field(default_factory=list)  # what verify finds live now (when every release exists)
    error: str | None = None  # unreachable, unreadable: nothing known about this cluster
    kubernetes: str | None = None  # the version the API server reports

    def count(self, change: str) -> int:
        return sum(release.count(change) for release in self.releases)

    @property
    def changes(self) -> bool:
        return any(release.changes for release in self.releases)

    def moved(self, deployed: Mapping[tuple[str, str], DeployedRelease]) -> bool:
        """Whether a release's latest revision or its status differs from what this plan was computed
        against (another apply finished meanwhile; a pending revision was left failed)."""
        def state(release: DeployedRelease | None) -> tuple[int, str] | None:
            return (release.revision, release.status) if release is not None else None

        return any(state(deployed.get((release.item.namespace, release.name))) != state(release.live) for release in self.releases)

    @property
    def ok(self) -> bool:
        return self.error is None and not any(problem.is_error for problem in self.problems)

    def summary(self) -> str:
        return f"{self.count('add')} to add, {self.count('change')} to change, {self.count('destroy')} to destroy"

    def as_json(self) -> dict[str, Any]:
        return {
            "context": self.context,
            "kubernetes": self.kubernetes,
            "error": self.error,
            "ok": self.ok,
            "summary": {"add": self.count("add"), "change": self.count("change"), "destroy": self.count("destroy")},
            "releases": [release.as_json() for release in self.releases],
            "problems": [problem.as_json() for problem in self.problems],
            "wiring": [problem.as_json() for problem in self.wiring],
        }


@dataclass
class Plan:
    """Every selected cluster's plan, for one stack at one digest of its inputs."""

    stack: str
    stack_digest: str
    clusters: dict[str, ClusterPlan]

    @property
    def changes(self) -> bool:
        return any(cluster.changes for cluster in self.clusters.values())

    @property
    def ok(self) -> bool:
        return all(cluster.ok for cluster in self.clusters.values())

    def count(self, change: str) -> int:
        return sum(cluster.count(change) for cluster in self.clusters.values())

    def summary(self) -> str:
        return f"{self.count('add')} to add, {self.count('change')} to change, {self.count('destroy')} to destroy"

    def as_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "stack": self.stack,
            "stackDigest": self.stack_digest,
            "ok": self.ok,
            "changes": self.changes,
            "summary": {"add": self.count("add"), "change": self.count("change"), "destroy": self.count("destroy")},
            "clusters": {name: cluster.as_json() for name, cluster in self.clusters.items()},
        }
