"""What apply will do to each release, decided before anything is touched.

``render`` decides what the releases of a cluster are (order, values, generated charts); this module
adds what only the live side knows, per release: the chart archive to install and its digest, the
values with ``!env`` secrets resolved, and the release's latest revision on the cluster. From those
it picks one action: ``install`` (not on the cluster), ``upgrade`` (chart or values differ from the
live revision), ``recover`` (the live revision is stuck pending: unlock, then upgrade) or ``unchanged``
(same chart digest and same values as the deployed revision: no helm call at all).

Everything that can fail without touching a cluster (a chart not pulled, a secret missing) fails here,
for every cluster at once, so apply never stops half-way for a reason it could have known up front.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshcharts.compose.project import Project
from meshcharts.core.diagnostics import ConfigError, Diagnostic
from meshcharts.core.fs import os_errors
from meshcharts.core.secrets import ResolvedValues, resolve_secrets
from meshcharts.deploy.live import DeployedRelease, canonical_values_hash, describe
from meshcharts.deploy.render import RenderedRelease
from meshcharts.deploy.sources import (
    ChartRequest,
    LockedChart,
    ResolvedChart,
    cached_archive,
    file_digest,
    is_local_reference,
    tree_digest,
)


@dataclass(frozen=True)
class PreparedRelease:
    """A release's chart and values before the live state is known (checked for every cluster first)."""

    rendered: RenderedRelease
    chart: ResolvedChart
    values: ResolvedValues  # secrets in clear: only ever sent to helm's stdin
    shown_values: dict[str, Any]  # the same values with secrets as placeholders: for the ledger and output
    values_hash: str

    @property
    def name(self) -> str:
        return self.rendered.release.name

    @property
    def namespace(self) -> str:
        return self.rendered.release.namespace

    @property
    def description(self) -> str:
        return describe(self.chart.digest, self.values_hash)

    @property
    def chart_version(self) -> str:
        return self.rendered.chart_version or self.rendered.release.version


@dataclass(frozen=True)
class ReleaseAction:
    """One release of one cluster with what apply will do to it, given its live revision."""

    prepared: PreparedRelease
    live: DeployedRelease | None
    action: str  # "install" | "upgrade" | "recover" | "unchanged"


def prepare_cluster(
    project: Project,
    cluster: str,
    rendered: list[RenderedRelease],
    cluster_dir: Path,
    lock: Mapping[str, LockedChart],
    environ: Mapping[str, str],
    scratch: Path | None = None,
) -> list[PreparedRelease]:
    """Charts and resolved values for every release of ``cluster``; all problems raised together.

    ``scratch``: a private folder for copies of the charts on disk (see :func:`resolve_chart`).
    """
    prepared: list[PreparedRelease] = []
    problems: list[Diagnostic] = []
    for item in rendered:
        release = item.release
        try:
            chart = resolve_chart(project, item, cluster_dir, lock, scratch)
            if release.prerequisite:
                values: dict[str, Any] = {}
                shown: dict[str, Any] = {}
            else:
                composition = project.compose(cluster, release.component)
                values = composition.values()
                shown = composition.values(secrets="placeholder")
            resolved = resolve_secrets(values, environ, cluster=cluster, component=release.component)
        except ConfigError as error:
            problems.extend(error.diagnostics)
            continue
        prepared.append(PreparedRelease(item, chart, resolved, shown, canonical_values_hash(resolved.values)))
    if problems:
        raise ConfigError(problems)
    return prepared


def decide(prepared: list[PreparedRelease], deployed: Mapping[tuple[str, str], DeployedRelease]) -> list[ReleaseAction]:
    """The action for each prepared release, given the cluster's latest revisions."""
    actions = []
    for item in prepared:
        release = item.rendered.release
        live = deployed.get((release.namespace, release.name))
        if live is None:
            action = "install"
        elif live.pending:
            action = "recover"
        elif live.status == "deployed" and _same(live, item):
            action = "unchanged"
        else:
            action = "upgrade"
        actions.append(ReleaseAction(item, live, action))
    return actions


def _same(live: DeployedRelease, item: PreparedRelease) -> bool:
    """The live revision runs this chart (by digest) with exactly these values."""
    marker = live.marker()
    return marker.get("chart") == f"sha256:{item.chart.digest[:32]}" and canonical_values_hash(live.config) == item.values_hash


def resolve_chart(
    project: Project, item: RenderedRelease, cluster_dir: Path, lock: Mapping[str, LockedChart], scratch: Path | None = None
) -> ResolvedChart:
    """The local chart helm installs for a release, with its digest; never fetched here.

    A generated or local chart is a folder anyone may rewrite while apply runs (another apply renders
    the same ``charts-out/``, an editor saves): with ``scratch``, helm installs a private copy taken
    now, so the chart installed is the chart whose digest is recorded.
    """
    release = item.release
    component = project.stack.components[release.component]
    if item.chart_dir is not None:
        return _on_disk(cluster_dir / item.chart_dir, "generated", scratch, release.name)
    if is_local_reference(release.chart) and not release.chart.startswith("oci://"):
        path = (project.stack.root / release.chart).resolve()
        if path.exists():
            return _on_disk(path, "local", scratch, release.name)
        raise ConfigError(
            Diagnostic(
                message=f"chart {release.chart} does not exist (looked at {path})",
                rule="apply.chart-missing",
                location=component.location,
                component=release.component,
                path="chart",
            )
        )
    request = ChartRequest(release.chart, release.version, release.repo)
    locked = lock.get(request.key)
    archive = cached_archive(locked) if locked else None
    if locked is None or archive is None:
        state = "is not in meshcharts.lock" if locked is None else "is recorded in meshcharts.lock but missing from the chart cache (or its bytes changed)"
        raise ConfigError(
            Diagnostic(
                message=f"chart {release.chart} {release.version} {state}; apply installs only charts `meshcharts pull` recorded",
                rule="apply.chart-not-pulled",
                location=component.location,
                component=release.component,
                path="version",
                hint="run meshcharts pull (offline: MESHCHARTS_CHARTS=<dir of <chart>-<version>.tgz> meshcharts pull)",
            )
        )
    return ResolvedChart(archive, locked.digest, "cache")


def _on_disk(path: Path, origin: str, scratch: Path | None, release: str) -> ResolvedChart:
    """A chart folder or archive, copied into ``scratch`` first when given; digested as installed."""
    with os_errors("read the chart", path):
        if scratch is not None:
            copy = Path(tempfile.mkdtemp(prefix=f"{release}-", dir=scratch)) / path.name
            if path.is_dir():
                shutil.copytree(path, copy)
            else:
                shutil.copyfile(path, copy)
            path = copy
        return ResolvedChart(path, tree_digest(path) if path.is_dir() else file_digest(path), origin)
