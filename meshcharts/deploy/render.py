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

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshcharts.checks.validate import ValidationReport, validate_project
from meshcharts.compose.project import Composition, Project
from meshcharts.core.diagnostics import ConfigError, Diagnostic, InvalidInput
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
from meshcharts.load.local_charts import local_chart_path
from meshcharts.wiring.order import Release, install_order


@dataclass(frozen=True)
class RenderedRelease:
    release: Release
    values_file: str  # relative to the cluster folder
    values_digest: str
    secrets: tuple[str, ...]  # dotted paths of !env placeholders
    chart_dir: str | None = None  # generated chart folder, relative to the cluster folder
    chart_version: str | None = None  # the generated chart's content-derived version
    local_chart: str | None = None  # a chart on disk, relative to the cluster folder (absolute for an --out elsewhere)

    def as_json(self) -> dict[str, Any]:
        release = self.release
        return {
            "cluster": release.cluster,
            "release": release.name,
            "component": release.component,
            "namespace": release.namespace,
            "chart": self.chart_dir or self.local_chart or release.chart,
            "repo": None if release.generated else release.repo,
            "version": self.chart_version or release.version,
            "values": self.values_file,
            "valuesDigest": self.values_digest,
            "secrets": list(self.secrets),
            "prerequisite": release.prerequisite,
        }


@dataclass
class RenderResult:
    output: Path
    clusters: dict[str, list[RenderedRelease]] = field(default_factory=dict)
    report: ValidationReport | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "output": str(self.output),
            "clusters": {name: [item.as_json() for item in items] for name, items in self.clusters.items()},
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
    stack = project.stack
    if cluster is not None and cluster not in stack.clusters:
        raise ConfigError(Diagnostic(message=f'no cluster "{cluster}" in stack {stack.name}', rule="usage.unknown-cluster"))
    report = validate_project(project)
    if not report.valid:
        raise InvalidInput(report.errors)
    target = output_folder(stack.root, output)
    result = RenderResult(target, report=report)
    clusters = [cluster] if cluster is not None else list(stack.clusters)
    with locked(target):
        clean_leftovers(target)
        for name in clusters:
            check_replaceable(target / name)
        for name in clusters:
            result.clusters[name] = _render_cluster(project, name, target)
    return result


def _render_cluster(project: Project, cluster: str, target: Path) -> list[RenderedRelease]:
    staging = new_staging(target, cluster)
    try:
        try:
            rendered = [_render_release(project, release, staging, target / cluster) for release in install_order(project.compose_all(cluster), cluster)]
            index = {"cluster": cluster, "stack": project.stack.name, "releases": [item.as_json() for item in rendered]}
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
    return rendered


def _recorded_chart(project: Project, release: Release, final: Path) -> str | None:
    """A local chart as releases.yaml records it: relative to the cluster folder, so the output can be used
    from where it is; absolute when the output is outside the stack (relative would read ../../..)."""
    if release.prerequisite:
        return None
    path = local_chart_path(project.stack.root, project.stack.components[release.component])
    if path is None:
        return None
    return os.path.relpath(path, final) if is_within(final, project.stack.root) else str(path)


def _render_release(project: Project, release: Release, folder: Path, final: Path) -> RenderedRelease:
    composition = project.compose(release.cluster, release.component)
    values: dict[str, Any] = {} if release.prerequisite else composition.values(secrets="placeholder")
    secrets = () if release.prerequisite else tuple(path for path, _ in composition.secrets())
    dumped = dump_values(values)
    file_name = f"{release.name}.values.yaml"
    (folder / file_name).write_text(_header(composition, release, secrets) + dumped, encoding="utf-8")
    digest = hashlib.sha256(dumped.encode()).hexdigest()[:16]
    chart_dir = chart_version = None
    if release.generated and not release.prerequisite:
        generated = composition.component.type.generate(composition, folder / release.name)
        if generated is not None:
            chart_dir, chart_version = release.name, generated
    return RenderedRelease(release, file_name, digest, secrets, chart_dir, chart_version, _recorded_chart(project, release, final))


def _header(composition: Composition, release: Release, secrets: tuple[str, ...]) -> str:
    lines = [f"# {release.cluster}/{release.name}: generated by meshcharts render; edit the layers, not this file."]
    if release.prerequisite:
        lines.append(f"# prerequisite of component {release.component}: the chart's defaults.")
    else:
        files = ", ".join(layer.display for layer in composition.layers)
        lines.append(f"# layers: type defaults, wiring, {files}" if files else "# layers: type defaults and wiring only (no values files)")
    for path in secrets:
        lines.append(f"# secret: {path} is read from the environment at apply time")
    return "\n".join(lines) + "\n"
