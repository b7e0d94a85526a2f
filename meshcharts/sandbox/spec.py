"""What the sandbox is asked for and what it reports, as plain data: light to import.

The CLI registers ``meshcharts sandbox`` on every start, including the pre-commit path; this module
carries no Kubernetes client, so that costs nothing until a sandbox command runs.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshcharts.core.diagnostics import Location
from meshcharts.sandbox.procs import Listener

#: The stand-in CRD manifests, ``<group>.yaml`` per API group, shipped in the package so that a
#: sandbox started from a wheel install has them too (real charts on the sandbox need them as much).
DEFAULT_CRD_DIR = Path(__file__).resolve().parent / "crds"

#: The storage class every sandbox cluster offers (and makes the default) unless told otherwise.
DEFAULT_STORAGE_CLASS = "standard"

CLUSTER_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")
CONFIG_MARKER = ".meshcharts-config"


@dataclass(frozen=True)
class CrdRequest:
    """Where a stack asks for a CRD group (file position, key path): the place an error points to."""

    group: str
    location: Location | None = None
    path: str = ""


@dataclass(frozen=True)
class SandboxCluster:
    """One cluster to run: the stack's cluster name, its kube-context name, the CRD groups to seed.

    ``crd_requests`` says where each group was asked for, when a stack file did; it does not change
    which cluster this is (not compared).
    """

    name: str
    context: str | None = None
    crd_groups: tuple[str, ...] = ()
    crd_requests: tuple[CrdRequest, ...] = field(default=(), compare=False)

    @property
    def context_name(self) -> str:
        return self.context or self.name

    def crd_request(self, group: str) -> CrdRequest:
        """Where ``group`` was asked for (the first place), or a request with no position."""
        return next((request for request in self.crd_requests if request.group == group), CrdRequest(group))


class ClusterState(str, enum.Enum):
    RUNNING = "running"
    DEGRADED = "degraded"
    STOPPED = "stopped"
    ABSENT = "absent"


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    running: bool


@dataclass(frozen=True)
class ClusterStatus:
    """What ``status`` reports per cluster; ``as_json`` is the ``--output json`` shape."""

    name: str
    context: str
    state: ClusterState
    server: str | None = None
    components: tuple[ComponentStatus, ...] = ()
    listeners: tuple[Listener, ...] = field(default=())

    @property
    def dead(self) -> list[str]:
        return [component.name for component in self.components if not component.running]

    def as_json(self) -> dict[str, Any]:
        return {
            "cluster": self.name,
            "context": self.context,
            "state": self.state.value,
            "server": self.server,
            "components": [{"name": c.name, "pid": c.pid, "running": c.running} for c in self.components],
            "listening": [f"{item.address}:{item.port}" for item in self.listeners],
        }
