"""The releases of a cluster: one model, built once per cluster per run, that render, plan and apply share.

A :class:`ClusterRelease` is one ``helm upgrade -i`` on one cluster: its coordinates (chart, repo,
version, release name, namespace), the releases that must be installed before it, the composed values
(secrets as placeholders; resolved only on demand, in memory), the dotted paths of its secrets, the
composition it came from (for provenance: which layer file:line set each value), and its **values
identity**: one hash of the placeholder values, the same one render writes into ``releases.yaml``,
the ledger stores, the saved plan carries and apply compares with the live revision.

The later stages add what only they know to the same objects: render the files it wrote
(:class:`RenderedFiles`), apply and plan the chart archive to install and its digest
(``chart``), so nothing is composed, ordered or hashed twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshcharts.checks.validate import ValidationReport, validate_project
from meshcharts.compose.project import Composition, Project
from meshcharts.core.diagnostics import ConfigError, Diagnostic, InvalidInput
from meshcharts.core.model import Cluster, Component
from meshcharts.core.secrets import ResolvedValues, resolve_secrets
from meshcharts.deploy.live import canonical_values_hash
from meshcharts.deploy.sources import ResolvedChart
from meshcharts.wiring.order import Release, ordered_releases


@dataclass(frozen=True)
class RenderedFiles:
    """What render wrote for a release, relative to its cluster folder."""

    values_file: str
    chart_dir: str | None = None  # a generated chart's folder
    chart_version: str | None = None  # the generated chart's content-derived version
    local_chart: str | None = None  # a chart on disk (absolute when the output is outside the stack)


@dataclass(eq=False)
class ClusterRelease:
    """One release of one cluster, from composed values to the chart helm installs."""

    release: Release
    after: frozenset[str]  # names of the releases (same cluster) installed before this one
    composition: Composition | None  # None for a prerequisite CRD chart (installed with its defaults)
    values: dict[str, Any]  # composed values, secrets as placeholders: safe to show, write and store
    secret_paths: tuple[str, ...]  # dotted paths of the !env values
    identity: str  # the values identity (canonical hash of ``values``)
    files: RenderedFiles | None = None  # set by render
    chart: ResolvedChart | None = None  # set when a chart is resolved for plan or apply
    _resolved: ResolvedValues | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.release.name

    @property
    def namespace(self) -> str:
        return self.release.namespace

    @property
    def component(self) -> str:
        return self.release.component

    @property
    def chart_version(self) -> str:
        """The version helm will record: a generated chart's content version, else the pinned one."""
        if self.files is not None and self.files.chart_version:
            return self.files.chart_version
        return self.release.version

    def resolve(self, environ: Mapping[str, str]) -> ResolvedValues:
        """The values with ``!env`` secrets read from ``environ``: for helm's stdin only (kept in memory)."""
        if self._resolved is None:
            raw = self.composition.values() if self.composition is not None else {}
            self._resolved = resolve_secrets(raw, environ, cluster=self.release.cluster, component=self.component)
        return self._resolved

    @property
    def resolved(self) -> ResolvedValues | None:
        """The resolved values if :meth:`resolve` ran (plan and apply resolve every release up front)."""
        return self._resolved

    def redact(self, text: str) -> str:
        return self._resolved.redact(text) if self._resolved is not None else text


@dataclass
class ClusterReleases:
    """The releases of one cluster in install order, with the edges that order sorts."""

    cluster: Cluster
    releases: list[ClusterRelease]

    def __iter__(self) -> Iterator[ClusterRelease]:
        return iter(self.releases)

    def __len__(self) -> int:
        return len(self.releases)

    def by_name(self) -> dict[str, ClusterRelease]:
        return {item.name: item for item in self.releases}

    def dependencies(self) -> dict[str, set[str]]:
        """Per release name, the names of the releases that must be done before it."""
        return {item.name: set(item.after) for item in self.releases}


@dataclass
class StackReleases:
    """Every selected cluster's releases, built from a validated stack; ``digest`` names the inputs."""

    project: Project
    clusters: dict[str, ClusterReleases]
    report: ValidationReport
    digest: str

    def component(self, item: ClusterRelease) -> Component:
        return self.project.stack.components[item.component]


def values_identity(values: Any) -> str:
    """The one hash of a release's values (secrets as placeholders): what decides "the same values"."""
    return canonical_values_hash(values)


def path_steps(dotted: str) -> list[str | int]:
    """``a.b[2].c`` as the steps into nested values: ``["a", "b", 2, "c"]`` (how secret paths are written)."""
    steps: list[str | int] = []
    for part in dotted.split("."):
        name, _, rest = part.partition("[")
        if name:
            steps.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            steps.append(int(index))
            rest = rest.partition("[")[2]
    return steps


def value_at(values: Any, dotted: str) -> Any:
    """The value at a secret path, or None."""
    for step in path_steps(dotted):
        if isinstance(step, int):
            values = values[step] if isinstance(values, list) and 0 <= step < len(values) else None
        else:
            values = values.get(step) if isinstance(values, dict) else None
    return values


def placeholder_config(config: Mapping[str, Any], shown: Mapping[str, Any], secret_paths: tuple[str, ...]) -> dict[str, Any]:
    """Live values with each secret replaced by the placeholder ``shown`` (the composed values) holds there,
    so the two compare by :func:`values_identity` without a secret being hashed or shown."""
    result: dict[str, Any] = _copy(config)
    for path in secret_paths:
        steps = path_steps(path)
        parent: Any = result
        for step in steps[:-1]:
            parent = value_at(parent, str(step)) if isinstance(step, str) else (parent[step] if isinstance(parent, list) and 0 <= step < len(parent) else None)
        last = steps[-1] if steps else None
        if isinstance(parent, dict) and isinstance(last, str) and last in parent:
            parent[last] = value_at(shown, path)
        elif isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
            parent[last] = value_at(shown, path)
    return result


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def stack_digest(project: Project) -> str:
    """A digest of every input file of the stack (the stack file and each values layer), by content."""
    stack = project.stack
    digest = hashlib.sha256()
    files = {stack.path, *(layer.path for layer in project.layers.files)}
    for path in sorted(files):
        try:
            data = Path(path).read_bytes()
        except OSError:
            data = b""
        digest.update(str(Path(path).relative_to(stack.root) if Path(path).is_relative_to(stack.root) else path).encode() + b"\0")
        digest.update(hashlib.sha256(data).digest())
    return digest.hexdigest()


def build_releases(project: Project, cluster: str | None = None) -> StackReleases:
    """Validate the stack, then every selected cluster's releases in install order (or raise InvalidInput)."""
    stack = project.stack
    if cluster is not None and cluster not in stack.clusters:
        raise ConfigError(Diagnostic(message=f'no cluster "{cluster}" in stack {stack.name}', rule="usage.unknown-cluster"))
    report = validate_project(project)
    if not report.valid:
        raise InvalidInput(report.errors)
    names = [cluster] if cluster is not None else list(stack.clusters)
    clusters = {name: _cluster_releases(project, name) for name in names}
    return StackReleases(project, clusters, report, stack_digest(project))


def _cluster_releases(project: Project, cluster: str) -> ClusterReleases:
    compositions = project.compose_all(cluster)
    by_component = {composition.component.name: composition for composition in compositions}
    items = []
    for release, before in ordered_releases(compositions, cluster):
        composition = None if release.prerequisite else by_component[release.component]
        values = composition.values(secrets="placeholder") if composition is not None else {}
        secrets = tuple(path for path, _ in composition.secrets()) if composition is not None else ()
        items.append(
            ClusterRelease(
                release=release,
                after=frozenset(item.name for item in before),
                composition=composition,
                values=values,
                secret_paths=secrets,
                identity=values_identity(values),
            )
        )
    return ClusterReleases(project.stack.clusters[cluster], items)
