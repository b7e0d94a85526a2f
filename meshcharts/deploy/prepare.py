"""The chart and the secrets of every release, settled before any cluster is touched.

``render`` decides what the releases of a cluster are (order, values, generated charts); this stage
adds, on the same :class:`~meshcharts.deploy.releases.ClusterRelease` objects, the chart archive to
install and its digest, and the values with ``!env`` secrets resolved (in memory only).

Everything that can fail without touching a cluster (a chart not pulled, a secret missing) fails here,
for every cluster at once, so apply never stops half-way for a reason it could have known up front.
What each release then needs on its cluster (install, upgrade, nothing) is the plan's to say
(:mod:`meshcharts.deploy.plan`).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from meshcharts.compose.project import Project
from meshcharts.core.diagnostics import ConfigError, Diagnostic
from meshcharts.core.fs import os_errors
from meshcharts.deploy.releases import ClusterRelease, ClusterReleases
from meshcharts.deploy.sources import (
    ChartRequest,
    LockedChart,
    ResolvedChart,
    cached_archive,
    file_digest,
    is_local_reference,
    tree_digest,
)


def prepare_cluster(
    project: Project,
    releases: ClusterReleases,
    cluster_dir: Path,
    lock: Mapping[str, LockedChart],
    environ: Mapping[str, str],
    scratch: Path | None = None,
    *,
    secrets: bool = True,
) -> None:
    """Resolve the chart and (unless ``secrets`` is False: drift needs none) the secrets of every
    release of one cluster; all problems raised together.

    ``scratch``: a private folder for copies of the charts on disk (see :func:`resolve_chart`).
    """
    problems: list[Diagnostic] = []
    for item in releases:
        try:
            item.chart = resolve_chart(project, item, cluster_dir, lock, scratch)
            if secrets:
                item.resolve(environ)
        except ConfigError as error:
            problems.extend(error.diagnostics)
    if problems:
        raise ConfigError(problems)


def resolve_chart(
    project: Project, item: ClusterRelease, cluster_dir: Path, lock: Mapping[str, LockedChart], scratch: Path | None = None
) -> ResolvedChart:
    """The local chart helm installs for a release, with its digest; never fetched here.

    A generated or local chart is a folder anyone may rewrite while apply runs (another apply renders
    the same ``charts-out/``, an editor saves): with ``scratch``, helm installs a private copy taken
    now, so the chart installed is the chart whose digest is recorded.
    """
    release = item.release
    component = project.stack.components[release.component]
    if item.files is not None and item.files.chart_dir is not None:
        return _on_disk(cluster_dir / item.files.chart_dir, "generated", scratch, release.name)
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
                # The bytes are what count (the digest is of them); copying each file's times, mode and
                # extended attributes too was a third of preparing a generated chart.
                shutil.copytree(path, copy, copy_function=shutil.copyfile)
            else:
                shutil.copyfile(path, copy)
            path = copy
        return ResolvedChart(path, tree_digest(path) if path.is_dir() else file_digest(path), origin)
