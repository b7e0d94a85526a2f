"""``meshcharts pull``: fetch every pinned chart into the cache and record its digest in meshcharts.lock.

Charts come from ``$MESHCHARTS_CHARTS`` first (offline: a directory of ``<chart>-<version>.tgz``), then
from the chart's repository or OCI registry with ``helm pull``. A chart already recorded is checked
against its recorded digest: a different archive under the same name and version is refused, as a
lock file should (the registry changed a published chart, or someone swapped the offline file).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshcharts.compose.project import Project
from meshcharts.core.diagnostics import ConfigError, Diagnostic, MeshchartsError
from meshcharts.deploy.sources import (
    ChartRequest,
    LockedChart,
    find_offline,
    read_lock,
    store_in_cache,
    write_lock,
)
from meshcharts.helm.client import HelmClient


@dataclass(frozen=True)
class PulledChart:
    locked: LockedChart
    state: str  # "recorded" (new in the lock), "verified" (already there, same digest)

    def as_json(self) -> dict[str, Any]:
        return {**self.locked.as_yaml(), "state": self.state}


def chart_requests(project: Project) -> list[ChartRequest]:
    """Every repository or OCI chart the stack installs (prerequisite CRD charts included), once each."""
    found: dict[str, ChartRequest] = {}
    for component in project.stack.components.values():
        kind = component.type
        if kind.generated:
            continue
        charts = [component.chart] + [prerequisite.chart for prerequisite in kind.prerequisites]
        for chart in charts:
            request = ChartRequest(chart, component.version, component.repo)
            if request.is_remote:
                found.setdefault(request.key, request)
    return list(found.values())


def pull_charts(project: Project, helm: HelmClient | None = None) -> list[PulledChart]:
    """Fetch what is missing, verify what is recorded, and write meshcharts.lock once at the end."""
    root = project.stack.root
    lock = read_lock(root)
    pulled: list[PulledChart] = []
    problems: list[Diagnostic] = []
    with tempfile.TemporaryDirectory(prefix="meshcharts-pull-") as scratch:
        for request in chart_requests(project):
            try:
                archive, source = _fetch(request, helm, Path(scratch), project.stack.charts)
            except MeshchartsError as error:
                problems.extend(error.diagnostics)
                continue
            _, digest = store_in_cache(archive)
            _check(request, digest, source, lock, pulled, problems)
    if problems:
        raise ConfigError(problems)
    write_lock(root, lock.values())
    return pulled


def _check(request: ChartRequest, digest: str, source: str,
           lock: dict[str, LockedChart], pulled: list[PulledChart], problems: list[Diagnostic]) -> None:
    """Record a fetched chart, or refuse it when the lock holds another digest for the same request."""
    recorded = lock.get(request.key)
    if recorded is not None and recorded.digest != digest:
        problems.append(
            Diagnostic(
                message=f"chart {request.chart} {request.version} from {source} has sha256 {digest[:16]}..., "
                f"but meshcharts.lock recorded {recorded.digest[:16]}...: refusing a changed chart",
                rule="pull.digest-mismatch",
                hint="if the change is intended, delete its entry from meshcharts.lock and pull again",
            )
        )
        return
    entry = LockedChart(request, digest, source)
    pulled.append(PulledChart(entry, "verified" if recorded else "recorded"))
    lock[request.key] = entry


def _fetch(request: ChartRequest, helm: HelmClient | None, scratch: Path, folders: tuple[Path, ...]) -> tuple[Path, str]:
    offline = find_offline(request, folders)
    if offline is not None:
        return offline, f"file {offline.parent}"
    if helm is None:
        raise ConfigError(
            Diagnostic(
                message=f"chart {request.name}-{request.version}.tgz is not in $MESHCHARTS_CHARTS or the stack's charts: folders and no helm is available to pull it",
                rule="pull.not-found",
            )
        )
    folder = Path(tempfile.mkdtemp(dir=scratch))
    archive = helm.pull(request.chart, repo=None if request.chart.startswith("oci://") else request.repo, version=request.version, destination=folder)
    return archive, request.chart if request.chart.startswith("oci://") else request.repo

