"""The engine-neutral view of what an export hands over: per cluster, each release with its chart
coordinates as an engine fetches them, its inline values (secrets taken out), its secrets, its wave.

Built from :class:`~meshcharts.deploy.releases.ClusterRelease` (the same model render, plan and apply
use), so the order, the chart versions and the values are exactly what ``apply`` would install. The
three engine modules only translate this view into their own objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from meshcharts.core.diagnostics import Location
from meshcharts.core.model import Cluster, EnvRef, dotted
from meshcharts.deploy.releases import ClusterRelease

ENGINES = ("flux", "argocd", "fleet")

#: Labels every exported object carries, so a reviewer (and ``kubectl get -l``) finds its origin.
MANAGED_BY = "meshcharts"


@dataclass(frozen=True)
class ChartRef:
    """Where an engine fetches a release's chart: a Helm repository (http/https) or an OCI registry.

    ``repository`` is the repository URL, or for OCI the registry path without the chart's name
    (``oci://registry.example.com/charts``); ``packaged``: the chart is in the export's charts/.
    """

    kind: str  # "helm" or "oci"
    repository: str
    chart: str
    version: str
    packaged: bool = False
    digest: str | None = None  # sha256 of the packaged archive (packaged charts only)

    @property
    def oci_reference(self) -> str:
        """``oci://registry/path/chart``: how Fleet names an OCI chart."""
        return f"{self.repository.rstrip('/')}/{self.chart}"


@dataclass(frozen=True)
class SecretValue:
    """One ``!env`` value: where it goes in the values, and the environment variable ``apply`` reads."""

    steps: tuple[str | int, ...]
    env: str
    location: Location | None = field(default=None, compare=False)  # the layer file:line that set it

    @property
    def path(self) -> str:
        """The dotted path as meshcharts names keys everywhere (``auth.token``, ``a.b[0].c``)."""
        return dotted(self.steps)


@dataclass
class ExportRelease:
    """One release of one cluster, ready to be written as an engine's object."""

    item: ClusterRelease
    chart: ChartRef
    values: dict[str, Any]  # the composed values with every secret's key taken out
    secrets: tuple[SecretValue, ...]
    wave: int  # 0 for a release that depends on nothing, else one more than its deepest dependency

    @property
    def name(self) -> str:
        return self.item.name

    @property
    def namespace(self) -> str:
        return self.item.namespace

    @property
    def component(self) -> str:
        return self.item.component

    @property
    def cluster(self) -> str:
        return self.item.release.cluster

    @property
    def after(self) -> list[str]:
        """The releases of the same cluster installed before this one, sorted (stable output)."""
        return sorted(self.item.after)


@dataclass
class ExportCluster:
    """One cluster's releases, in install order."""

    cluster: Cluster
    releases: list[ExportRelease] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.cluster.name


@dataclass(frozen=True)
class RequiredSecret:
    """A Kubernetes Secret the user creates before the engine can install a release.

    ``keys``: each data key with what to put there (an environment variable's value, or for Fleet a
    YAML document setting the listed paths).
    """

    cluster: str
    namespace: str
    name: str
    keys: tuple[tuple[str, str], ...]
    where: str  # which cluster holds it: the workload cluster, or the engine's hub

    def as_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "namespace": self.namespace,
            "name": self.name,
            "keys": [{"key": key, "value": what} for key, what in self.keys],
            "where": self.where,
        }


@dataclass
class EngineOutput:
    """What an engine module produced: files by relative path, and the Secrets the user must create."""

    files: dict[str, str] = field(default_factory=dict)
    secrets: list[RequiredSecret] = field(default_factory=list)
    readme: str = ""  # the engine's part of README.md


def secret_values(item: ClusterRelease) -> tuple[SecretValue, ...]:
    """Every ``!env`` value of a release with its exact steps (keys may hold dots: no dotted parsing)."""
    if item.composition is None:
        return ()
    found: list[SecretValue] = []
    _collect(item.composition.values(), (), found)
    return tuple(found)


def _collect(value: Any, steps: tuple[str | int, ...], found: list[SecretValue]) -> None:
    if isinstance(value, EnvRef):
        found.append(SecretValue(steps, value.name, value.location))
    elif isinstance(value, dict):
        for key, child in value.items():
            _collect(child, (*steps, str(key)), found)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            _collect(child, (*steps, index), found)


def without_secrets(values: dict[str, Any], secrets: tuple[SecretValue, ...]) -> dict[str, Any]:
    """A deep copy of ``values`` with each secret's key removed (a valuesFrom supplies it instead).

    A secret that is an item of a list keeps its placeholder item, so the items after it keep their
    place; the engine's reference then replaces the item (Flux) or the engine module refuses (Fleet).
    """
    result = _copy(values)
    for secret in secrets:
        parent: Any = result
        for step in secret.steps[:-1]:
            parent = parent[step]
        last = secret.steps[-1]
        if isinstance(parent, dict):
            del parent[last]
    return result


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def waves(releases: list[ClusterRelease]) -> dict[str, int]:
    """Per release name, its wave: releases in install order, each one wave after its deepest dependency."""
    result: dict[str, int] = {}
    for item in releases:  # install order: every dependency comes first
        result[item.name] = 1 + max((result[name] for name in item.after), default=-1)
    return result


def labels(stack: str, item: ExportRelease | None = None) -> dict[str, str]:
    """The labels of an exported object: which stack, cluster, component and release it carries."""
    found = {"app.kubernetes.io/managed-by": MANAGED_BY, "meshcharts.dev/stack": stack}
    if item is not None:
        found.update({"meshcharts.dev/cluster": item.cluster, "meshcharts.dev/component": item.component, "meshcharts.dev/release": item.name})
    return found
