"""``render``: the final values of every release and the charts meshcharts generates, per cluster.

``charts-out/<cluster>/`` gets, in install order, ``<release>.values.yaml`` for each release (``!env``
secrets as placeholders: the clear value exists only in memory at apply time), a folder per generated
chart (mesh-extras, istio-addons), and ``releases.yaml``: the ordered list of what would be installed,
with chart, version, namespace and a digest of the values.

Nothing is written unless the whole stack validates, and each cluster's folder is built aside and
swapped in at the end, so a failure never leaves a half-written folder behind. Render writes only
inside its output folder and replaces only folders it wrote (:mod:`meshcharts.deploy.outdir`).
Re-running with the same inputs gives byte-identical files.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshcharts.checks.validate import ValidationReport
from meshcharts.compose.project import Composition, Project
from meshcharts.core.fs import is_within, os_error
from meshcharts.deploy.outdir import (
    ELSEWHERE,
    check_replaceable,
    clean_leftovers,
    locked,
    new_staging,
    output_folder,
    swap,
)
from meshcharts.deploy.releases import ClusterRelease, ClusterReleases, RenderedFiles, StackReleases, build_releases
from meshcharts.load.local_charts import local_chart_path
from meshcharts.wiring.order import Release


def release_entry(item: ClusterRelease) -> dict[str, Any]:
    """One release as ``releases.yaml`` and ``render --output json`` list it."""
    release, files = item.release, item.files
    return {
        "cluster": release.cluster,
        "release": release.name,
        "component": release.component,
        "namespace": release.namespace,
        "chart": (files.chart_dir or files.local_chart if files else None) or release.chart,
        "repo": None if release.generated else release.repo,
        "version": item.chart_version,
        "values": files.values_file if files else None,
        "valuesIdentity": item.identity,
        "secrets": list(item.secret_paths),
        "after": sorted(item.after),
        "prerequisite": release.prerequisite,
    }


@dataclass
class RenderResult:
    output: Path
    clusters: dict[str, ClusterReleases] = field(default_factory=dict)
    report: ValidationReport | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "clusters": {name: [release_entry(item) for item in items] for name, items in self.clusters.items()},
            "warnings": [d.as_json() for d in (self.report.warnings if self.report else [])],
        }


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter, in every PyYAML wheel


def dump_values(values: dict[str, Any]) -> str:
    """Values as Helm reads them: block YAML, keys in composed order, stable across runs.

    Written by libyaml's emitter: the pure-Python one took most of rendering a 100,000-key file
    (the text is the same, but for empty keys and characters outside the BMP, which libyaml quotes).
    """
    return yaml.dump(values, Dumper=_DUMPER, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096)


def render_project(project: Project, cluster: str | None = None, output: Path | None = None) -> RenderResult:
    """Validate, then write every cluster's release values and generated charts (or raise InvalidInput)."""
    return write_releases(build_releases(project, cluster), output)


def write_releases(releases: StackReleases, output: Path | None = None) -> RenderResult:
    """Write the releases of every cluster in ``releases`` to ``output``/<cluster>/ (``charts-out`` by default).

    Each release learns what was written for it (:class:`RenderedFiles`), so plan and apply install
    exactly these files.
    """
    project = releases.project
    target = output_folder(project.stack.root, output)
    result = RenderResult(target, report=releases.report)
    with locked(target):
        clean_leftovers(target)
        for name in releases.clusters:
            check_replaceable(target / name)
        for name, cluster_releases in releases.clusters.items():
            _render_cluster(project, cluster_releases, target)
            result.clusters[name] = cluster_releases
    return result


def _render_cluster(project: Project, releases: ClusterReleases, target: Path) -> None:
    cluster = releases.cluster.name
    staging = new_staging(target, cluster)
    try:
        try:
            for item in releases:
                item.files = _render_release(project, item, staging, target / cluster)
            index = {"cluster": cluster, "stack": project.stack.name, "releases": [release_entry(item) for item in releases]}
            (staging / "releases.yaml").write_text(dump_values(index), encoding="utf-8")
        except OSError as exc:  # a full or read-only disk names the output folder; anything else, the file
            failed = Path(os.fsdecode(exc.filename)).absolute() if exc.filename else staging
            if is_within(failed, target):
                raise os_error(exc, "write", target, writing=True, elsewhere=ELSEWHERE) from None
            raise os_error(exc, "read") from None
        swap(staging, target / cluster)
    finally:
        if os.path.lexists(staging):
            shutil.rmtree(staging, ignore_errors=True)


def _recorded_chart(project: Project, release: Release, final: Path) -> str | None:
    """A local chart as releases.yaml records it: relative to the cluster folder, so the output can be used
    from where it is; absolute when the output is outside the stack (relative would read ../../..)."""
    if release.prerequisite:
        return None
    path = local_chart_path(project.stack.root, project.stack.components[release.component])
    if path is None:
        return None
    return os.path.relpath(path, final) if is_within(final, project.stack.root) else str(path)


def _render_release(project: Project, item: ClusterRelease, folder: Path, final: Path) -> RenderedFiles:
    release, composition = item.release, item.composition
    file_name = f"{release.name}.values.yaml"
    (folder / file_name).write_text(_header(composition, release, item.secret_paths) + dump_values(item.values), encoding="utf-8")
    chart_dir = chart_version = None
    if release.generated and composition is not None:
        generated = composition.component.type.generate(composition, folder / release.name)
        if generated is not None:
            chart_dir, chart_version = release.name, generated
    return RenderedFiles(file_name, chart_dir, chart_version, _recorded_chart(project, release, final))


def _header(composition: Composition | None, release: Release, secrets: tuple[str, ...]) -> str:
    lines = [f"# {release.cluster}/{release.name}: generated by meshcharts render; edit the layers, not this file."]
    if composition is None:
        lines.append(f"# prerequisite of component {release.component}: the chart's defaults.")
    else:
        files = ", ".join(layer.display for layer in composition.layers)
        lines.append(f"# layers: type defaults, wiring, {files}" if files else "# layers: type defaults and wiring only (no values files)")
    for path in secrets:
        lines.append(f"# secret: {path} is read from the environment at apply time")
    return "\n".join(lines) + "\n"
