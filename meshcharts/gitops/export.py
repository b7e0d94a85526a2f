"""``meshcharts export --to flux|argocd|fleet``: the whole run, from the stack to a recorded folder.

1. Build the releases of every selected cluster (:func:`~meshcharts.deploy.releases.build_releases`:
   the stack validated, the same order, charts and values as ``apply``), render the generated charts
   into a private folder, and package them with the local charts (:mod:`meshcharts.gitops.charts_repo`).
2. Translate each release for the engine; a problem (an Argo CD export with a secret, a missing charts
   URL) stops the export before anything is written or recorded.
3. Write the folder whole (:mod:`meshcharts.gitops.writer`) and record a run ``export`` in the ledger
   with one ``exported`` row per release: the ledger stays the one record of what went where, whether
   ``apply`` pushed it or an engine pulls it.

No environment is read: secrets stay references. No cluster and no chart repository is contacted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshcharts.compose.project import Project
from meshcharts.core.diagnostics import ConfigError, Diagnostic, Location
from meshcharts.core.fs import display_path
from meshcharts.ledger.urls import ledger_url_for
from meshcharts.deploy.releases import ClusterRelease, build_releases
from meshcharts.deploy.render import write_releases
from meshcharts.deploy.sources import ChartRequest, file_digest, read_lock, tree_digest
from meshcharts.gitops import charts_repo
from meshcharts.gitops.argocd import export_argocd
from meshcharts.gitops.fleet import export_fleet
from meshcharts.gitops.flux import export_flux
from meshcharts.gitops.model import ENGINES, ChartRef, EngineOutput, ExportCluster, ExportRelease, RequiredSecret, secret_values, waves, without_secrets
from meshcharts.gitops.writer import target_folder, write_export
from meshcharts.helm.client import HelmClient
from meshcharts.ledger.errors import LedgerError
from meshcharts.ledger.provenance import git_commit
from meshcharts.ledger.records import ReleaseSpec, ReleaseStatus
from meshcharts.ledger.store import open_ledger
from meshcharts.ledger.urls import resolve_ledger_url

_ENGINES = {"flux": export_flux, "argocd": export_argocd, "fleet": export_fleet}


@dataclass(frozen=True)
class ExportOptions:
    """What to export: the engine, one cluster or all, where to write, where charts/ is served, which ledger."""

    engine: str
    cluster: str | None = None
    out: Path | None = None
    charts_url: str | None = None
    ledger_url: str | None = None
    chart_repository: str | None = None  # a mirror for every repository/OCI chart (else export.chartRepository)


@dataclass
class ExportResult:
    """What was written where, for which releases, and the Secrets the user must create."""

    engine: str
    output: Path
    clusters: list[ExportCluster]
    secrets: list[RequiredSecret]
    charts: list[str]  # the archives packaged into charts/
    files: list[str]
    run_id: int | None = None
    ledger: str | None = None
    warnings: list[Diagnostic] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "engine": self.engine,
            "output": str(self.output),
            "clusters": {
                cluster.name: [
                    {"release": item.name, "component": item.component, "namespace": item.namespace, "chart": item.chart.chart,
                     "repository": item.chart.repository, "version": item.chart.version, "after": item.after, "wave": item.wave,
                     "secrets": [secret.path for secret in item.secrets]}
                    for item in cluster.releases
                ]
                for cluster in self.clusters
            },
            "secrets": [secret.as_json() for secret in self.secrets],
            "charts": self.charts,
            "files": self.files,
            "run": self.run_id,
            "ledger": self.ledger,
            "warnings": [warning.as_json() for warning in self.warnings],
        }


def export_project(project: Project | Path | str, options: ExportOptions) -> ExportResult:
    """Export the stack for ``options.engine``; raises before writing anything when it cannot be exported."""
    if options.engine not in ENGINES:
        raise ConfigError(Diagnostic(message=f"--to {options.engine}: export knows {', '.join(ENGINES)}", rule="usage.export-engine"))
    if not isinstance(project, Project):
        project = Project.open(project)
    stack = project.stack
    _check_ledger_url(project, options)
    releases = build_releases(project, options.cluster)
    items = [item for cluster in releases.clusters.values() for item in cluster]
    url = charts_repo.charts_url(stack, options.charts_url, [item for item in items if charts_repo.needs_package(item)])
    mirror = charts_repo.mirror_url(stack, options.chart_repository)
    folder = target_folder(stack.root, options.engine, options.out)
    with tempfile.TemporaryDirectory(prefix="meshcharts-export-") as scratch:
        rendered = write_releases(releases, Path(scratch) / "charts-out")
        packaged: dict[tuple[str, str], charts_repo.Packaged] = {}
        by_content: dict[str, charts_repo.Packaged] = {}
        helm = HelmClient() if url and any(charts_repo.needs_package(item) for item in items) else None
        clusters = []
        for name, cluster_releases in releases.clusters.items():
            wave = waves(cluster_releases.releases)
            exported = ExportCluster(cluster_releases.cluster)
            for item in cluster_releases:
                chart = _chart(project, item, rendered.output / name, helm, Path(scratch), url, mirror, packaged, by_content)
                secrets = secret_values(item)
                exported.releases.append(ExportRelease(item, chart, without_secrets(item.values, secrets), secrets, wave[item.name]))
            clusters.append(exported)
        output: EngineOutput = _ENGINES[options.engine](stack.name, clusters)
        files = {**output.files, "README.md": _readme(stack.name, options.engine, output, bool(packaged))}
        charts = sorted(packaged.values(), key=lambda chart: chart.file_name)

        def fill(staging: Path) -> None:
            if charts and helm is not None and url:
                charts_repo.write_repository(helm, charts, staging / charts_repo.CHARTS_DIR, url)

        result = ExportResult(options.engine, folder, clusters, output.secrets, [chart.file_name for chart in charts], sorted(files), warnings=releases.report.warnings)
        _record(project, options, result, lambda: write_export(stack.root, folder, files, fill))
    return result


def _check_ledger_url(project: Project, options: ExportOptions) -> None:
    """A ledger URL meshcharts cannot use is wrong whatever the stack says: exit 2 before any work, as apply."""
    stack = project.stack
    try:
        resolve_ledger_url(ledger_url_for(stack, options.ledger_url), default_dir=stack.root)
    except LedgerError as error:
        where = {"path": "--ledger"} if options.ledger_url else {"path": "ledger", "location": Location(display_path(stack.path))}
        raise ConfigError([dataclasses.replace(d, **where) for d in error.diagnostics]) from None


def _chart(
    project: Project, item: ClusterRelease, cluster_dir: Path, helm: HelmClient | None, scratch: Path, url: str | None, mirror: str | None,
    packaged: dict[tuple[str, str], charts_repo.Packaged], by_content: dict[str, charts_repo.Packaged],
) -> ChartRef:
    """The release's chart as the engine fetches it; a generated or local chart packaged into charts/."""
    if not charts_repo.needs_package(item):
        return charts_repo.remote_ref(item, mirror)
    assert helm is not None and url is not None, "a charts URL and helm are settled before packaging"
    if item.files is not None and item.files.chart_dir is not None:
        source = charts_repo.without_values(cluster_dir / item.files.chart_dir, scratch)
    else:
        source = (project.stack.root / item.release.chart).resolve()
        if not source.exists():
            component = project.stack.components[item.component]
            raise ConfigError(
                Diagnostic(message=f"chart {item.release.chart} does not exist (looked at {source})", rule="export.chart-missing",
                           location=component.location, component=item.component, path="chart")
            )
    content = tree_digest(source) if source.is_dir() else file_digest(source)
    chart = by_content.get(content) or charts_repo.package(helm, source, scratch)
    by_content[content] = chart  # a fleet's clusters mostly share a generated chart: package it once
    known = packaged.setdefault((chart.name, chart.version), chart)
    if known.data != chart.data:
        raise ConfigError(
            Diagnostic(
                message=f"two different charts are both {chart.name} {chart.version}; a Helm repository holds one archive per version",
                rule="export.chart-clash", cluster=item.release.cluster, component=item.component,
            )
        )
    return ChartRef("helm", url.rstrip("/"), chart.name, chart.version, packaged=True, digest=hashlib.sha256(chart.data).hexdigest())


def _record(project: Project, options: ExportOptions, result: ExportResult, write: Any) -> None:
    """Write the folder inside a ledger run ``export``, then one ``exported`` row per release."""
    stack = project.stack
    lock = read_lock(stack.root)
    with open_ledger(ledger_url_for(stack, options.ledger_url), default_dir=stack.root) as ledger:
        with ledger.start_run(stack.name, stack.path, "export", git_commit(stack.root)) as run:
            result.output = write()
            note = f"exported for {options.engine} to {result.output}"
            for cluster in result.clusters:
                for item in cluster.releases:
                    release = item.item.release
                    locked = None if item.chart.packaged else lock.get(ChartRequest(release.chart, release.version, release.repo).key)
                    digest = item.chart.digest or (locked.digest if locked is not None else None)
                    spec = ReleaseSpec(
                        cluster=cluster.name, context=cluster.cluster.context, component=item.component, release=item.name,
                        namespace=item.namespace, chart=release.chart, chart_version=item.chart.version,
                        values=item.item.values, values_hash=item.item.identity,
                        chart_digest=f"sha256:{digest}" if digest else None,
                    )
                    run.record_release(spec, ReleaseStatus.EXPORTED, note=note)
            releases = sum(len(cluster.releases) for cluster in result.clusters)
            run.finish(note=f"export --to {options.engine}: {releases} releases of {', '.join(c.name for c in result.clusters)} to {result.output}")
            result.run_id, result.ledger = run.id, ledger.url


def _readme(stack: str, engine: str, output: EngineOutput, packaged: bool) -> str:
    lines = [
        f"# meshcharts export of stack `{stack}` for {engine}",
        "",
        "Written by `meshcharts export`: every file here is regenerated, byte for byte, on each export.",
        "Change the stack (meshcharts.yaml and its values layers), run `meshcharts export` again and commit.",
        "The releases, their order, charts and values are what `meshcharts apply` would install; `meshcharts",
        "history` lists each export as a run.",
        "",
        output.readme.rstrip(),
        "",
    ]
    if packaged:
        lines += [
            "## charts/",
            "",
            "The charts no repository serves (generated by meshcharts, or local to the stack), packaged, with",
            "the `index.yaml` of a Helm repository: serve this folder at the charts URL given to export",
            "(any static web server), where the objects above fetch them.",
            "",
        ]
    if output.secrets:
        lines += ["## Secrets to create", "", "No secret is written here. Create these before the engine installs the releases:", ""]
        for secret in output.secrets:
            keys = "; ".join(f"`{key}`: {what}" for key, what in secret.keys)
            lines.append(f"- {secret.where}: Secret `{secret.namespace}/{secret.name}`, {keys}")
        lines.append("")
    return "\n".join(lines)
