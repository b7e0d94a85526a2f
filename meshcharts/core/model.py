"""The plain data model every stage shares: the stack, its clusters and components, composed-value trees.

It imports nothing of meshcharts beyond its ``core`` siblings, so loaders, component types, the wiring
and the deploy stage can all speak about the same objects without importing each other. Where a lower
stage must call into a higher one (a component type reading a composition, the wiring asking types what
they provide), it does so through the small Protocols at the end of this module, which the higher stage
satisfies.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol, Union

import semver

from meshcharts.core.diagnostics import Diagnostic, Location
from meshcharts.core.endpoints import Endpoint, Need
from meshcharts.core.externals import ExternalService
from meshcharts.core.kubeapis import RendersApi
from meshcharts.core.versions import VersionRange

PathT = tuple[Union[str, int], ...]


def dotted(path: PathT) -> str:
    """``("deployment", "resources", 0)`` -> ``deployment.resources[0]``: how errors name a key."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


@dataclass(frozen=True)
class EnvRef:
    """``!env NAME``: a secret taken from the environment only when a release is applied.

    Its ``str`` is a placeholder, so printing, logging or writing it can never leak the value.
    """

    name: str
    location: Location | None = None

    @property
    def placeholder(self) -> str:
        return f"<secret from env {self.name}>"

    def __str__(self) -> str:
        return self.placeholder

    def __repr__(self) -> str:
        return f"EnvRef({self.name!r})"


# --- the stack file ---


@dataclass(frozen=True)
class Cluster:
    name: str
    context: str
    kubeconfig: str | None
    env: str | None
    labels: dict[str, Any]
    vars: dict[str, Any]
    location: Location
    crds: tuple[str, ...] = ()  # API groups installed outside the stack
    crd_locations: tuple[Location | None, ...] = ()  # where each crds: entry is, for the sandbox's errors
    kubernetes: str | None = None  # the stack's word on the cluster's Kubernetes (MAJOR.MINOR): the offline checks' fallback; plan asks the cluster


@dataclass(frozen=True)
class HelmSettings:
    """How apply runs helm for one component; None: the run's setting, else helm's usual."""

    atomic: bool | None = None
    wait: bool | None = None
    timeout: str | None = None


@dataclass(frozen=True)
class Component:
    name: str
    type: ComponentKind
    version: str
    namespace: str
    release: str
    repo: str
    chart: str
    clusters: tuple[str, ...]
    needs: tuple[str, ...]
    source: str | None
    location: Location
    chart_location: Location | None = None  # where chart: is set, when the stack file sets it
    helm: HelmSettings = HelmSettings()


@dataclass(frozen=True)
class External:
    name: str
    provides: str
    url: str
    public_url: str | None
    grpc: bool | None
    target_port: int | None
    monitors: dict[str, Any]
    grafana_dashboards: dict[str, str]
    clusters: tuple[str, ...]
    location: Location
    type: str | None = None  # what it is (rancher-monitoring ...), so its Pod ports and labels are known
    version: str | None = None
    facts: ExternalService | None = None  # what meshcharts knows of that type's Service for this role


@dataclass(frozen=True)
class Stack:
    """A loaded, checked stack file."""

    name: str
    path: Path
    clusters: dict[str, Cluster]
    components: dict[str, Component]
    external: dict[str, External]
    ledger: str | None = None  # the stack file's ledger URL (--ledger wins)
    charts: tuple[Path, ...] = ()  # offline chart directories, absolute
    export_repository: str | None = None  # export.chartRepository: a mirror of every repository/OCI chart
    export_charts_url: str | None = None  # export.chartsUrl: where an export's charts/ folder is served

    @property
    def root(self) -> Path:
        return self.path.parent

    def components_on(self, cluster: str) -> list[Component]:
        return [component for component in self.components.values() if cluster in component.clusters]


# --- composed values with provenance ---


class Origin(NamedTuple):
    """Who set a value: the layer, the file position, and for derived values, why.

    A named tuple, like :class:`Location`: composing makes one per key of every layer.
    """

    layer: str  # "defaults" | "derived" | "values" | "env" | "cluster" | "var"
    location: Location | None = None
    key_location: Location | None = None
    detail: str = ""

    def describe(self) -> str:
        """One phrase for explain: ``values/kiali.yaml:3:5 (values layer)``, ``derived from component x (...)``."""
        if self.layer == "defaults":
            return self.detail or "meshcharts type defaults"
        if self.layer == "derived":
            return self.detail or "derived by the wiring"
        label = {"values": "values layer", "env": "env layer", "cluster": "cluster layer"}.get(self.layer, self.layer)
        extra = f", {self.detail}" if self.detail else ""
        return f"{self.location or '?'} ({label}{extra})"

    def as_json(self) -> dict[str, Any]:
        loc = self.location
        return {
            "layer": self.layer,
            "file": loc.file if loc else None,
            "line": loc.line if loc and loc.line else None,
            "column": loc.column if loc and loc.column else None,
            "detail": self.detail or None,
        }


@dataclass
class Leaf:
    value: Any
    origin: Origin
    overridden: list[Origin] = field(default_factory=list)
    item_origins: list[Origin] | None = None  # lists only: where each item came from


@dataclass
class Branch:
    children: dict[str, Union["Branch", Leaf]]
    origin: Origin
    overridden: list[Origin] = field(default_factory=list)


Node = Union[Branch, Leaf]


@dataclass(frozen=True)
class DerivedValue:
    """A value the wiring fills in because the user left it unset (layer 1, below every file)."""

    path: tuple[str, ...]
    value: Any
    reason: str  # e.g. "derived from component monitoring (Service prom-grafana:80)"


# --- what a component type declares ---


@dataclass(frozen=True)
class SchemaLine:
    """One JSON schema and the chart versions it describes."""

    schema: str  # file name under meshcharts/schemas/
    versions: VersionRange
    label: str


@dataclass(frozen=True)
class SchemaChoice:
    """Which schema applies to a chart version, and the warning to show when it is a guess."""

    line: SchemaLine
    warning: str | None = None


@dataclass(frozen=True)
class Prerequisite:
    """A release that must be installed before the component's own (a CRD chart, say)."""

    chart: str
    release: str
    description: str  # always installed at the component's chart version


@dataclass(frozen=True)
class KeyRule:
    """A key that a chart or app version ignores, dropped or renamed: found in values, reported.

    ``pattern`` is a dotted key path; ``*`` matches one key. ``app_versions`` is the range of the
    *application* version (Kiali 1.35, 2.29 ...) the rule applies to, because that is where the key
    behaviour changes, not the chart packaging version.
    """

    pattern: str
    app_versions: VersionRange
    message: str
    rule: str
    severity: str = "error"  # "error" or "warning"
    replacement: str | None = None
    scope: str = "app"  # "app": the server that runs reads the key; "chart": the chart's templates do

    def matches(self, dotted_path: str) -> bool:
        """Segment by segment, so ``*`` stands for exactly one key and never crosses a dot."""
        wanted = self.pattern.split(".")
        actual = dotted_path.split(".")
        return len(wanted) == len(actual) and all(fnmatch.fnmatchcase(part, glob) for part, glob in zip(actual, wanted))


# --- the seams between stages ---


class CompositionView(Protocol):
    """What component types and the wiring read of one composed (cluster, component)."""

    cluster: Cluster
    component: Component
    broken: bool

    def values(self, *, secrets: str = "keep", drop_nulls: bool = False) -> dict[str, Any]: ...

    def validation_values(self) -> dict[str, Any]: ...

    def accepted_values(self) -> dict[str, Any]:
        """The values the schema accepted: what the wiring and types read (never a value of the wrong type)."""
        ...

    def node(self, path: PathT) -> Branch | Leaf | None: ...

    def origin(self, path: PathT) -> Origin | None: ...

    def get(self, path: PathT, default: Any = None) -> Any:
        """One accepted value; ``default`` where it is unset or the schema rejected it."""
        ...

    def is_user_set(self, path: PathT) -> bool: ...

    def locate(self, path: PathT, is_key: bool = False) -> Location | None: ...


class WiringView(Protocol):
    """What one cluster provides, as component types see it when they derive or check wiring."""

    stack: Stack
    cluster: Cluster
    endpoints: list[Endpoint]
    crds: dict[str, str]

    @property
    def compositions(self) -> Mapping[str, CompositionView]: ...

    def providers(self, role: str) -> list[Endpoint]: ...


class ComponentKind(Protocol):
    """A component type as the rest of the pipeline uses it (implemented by ``components.base.ComponentType``)."""

    name: str
    chart: str
    repo: str
    default_release: str
    default_namespace: str
    description: str
    schema_lines: tuple[SchemaLine, ...]
    prerequisites: tuple[Prerequisite, ...]
    key_rules: tuple[KeyRule, ...]
    generated: bool
    default_version: str
    rendered_apis: tuple[RendersApi, ...]

    def app_version(self, chart_version: str) -> semver.Version: ...

    def choose_schema(self, chart_version: str) -> SchemaChoice: ...

    def default_values(self, chart_version: str) -> dict[str, Any]: ...

    def running_version(self, component: Component, values: dict[str, Any]) -> semver.Version: ...

    def rules_for(self, component: Component, values: dict[str, Any]) -> list[KeyRule]: ...

    def endpoints(self, component: Component, values: dict[str, Any]) -> list[Endpoint]: ...

    def needs(self, component: Component, values: dict[str, Any]) -> list[Need]: ...

    def provided_crds(self, component: Component, values: dict[str, Any]) -> set[str]: ...

    def required_crds(self, component: Component, values: dict[str, Any]) -> dict[str, list[str]]: ...

    def derive_extra(self, composition: CompositionView, wiring: WiringView) -> list[DerivedValue]: ...

    def check_extra(self, composition: CompositionView, wiring: WiringView) -> list[Diagnostic]: ...

    def generate(self, composition: CompositionView, out_dir: Path) -> str | None: ...
