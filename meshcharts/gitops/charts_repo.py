"""Where each exported release's chart comes from, and the Helm repository folder for the charts no
repository serves.

A chart from a repository or an OCI registry is fetched by the engine from there (or from the
stack's ``export.chartRepository`` mirror). A chart meshcharts generates (mesh-extras, istio-addons)
and a chart on disk beside the stack exist nowhere an engine can reach, so the export packages them
(``helm package``) into ``charts/`` with an ``index.yaml`` (``helm repo index --url``): served by any
static web server at the charts URL the user gives (``--charts-url`` or ``export.chartsUrl``), it is
a Helm repository every engine can fetch from.

Byte-identical on re-run: helm stamps the time into each archive's tar headers and into index.yaml,
so the archives are rewritten with fixed times (same files, same order, same bytes) and the index's
timestamps are fixed before either is written.
"""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from meshcharts.core.diagnostics import ConfigError, Diagnostic
from meshcharts.core.model import Stack
from meshcharts.deploy.releases import ClusterRelease
from meshcharts.deploy.sources import is_local_reference
from meshcharts.gitops.model import ChartRef
from meshcharts.helm.client import HelmClient

CHARTS_DIR = "charts"
#: The fixed time written into packaged archives and index.yaml (what makes a re-export byte-identical).
FIXED_TIME = "1980-01-01T00:00:00Z"
_FIXED_EPOCH = 315532800


@dataclass(frozen=True)
class Packaged:
    """A chart packaged into charts/: its name, version and the normalized archive's bytes."""

    name: str
    version: str
    data: bytes

    @property
    def file_name(self) -> str:
        return f"{self.name}-{self.version}.tgz"


def needs_package(item: ClusterRelease) -> bool:
    """A generated chart, or a chart on disk: no repository serves it."""
    chart = item.release.chart
    return item.release.generated or (is_local_reference(chart) and not chart.startswith("oci://"))


def remote_ref(item: ClusterRelease, mirror: str | None) -> ChartRef:
    """The repository or OCI coordinates of a release's chart, through the mirror if there is one."""
    release = item.release
    if release.chart.startswith("oci://"):
        repository, _, name = release.chart.rstrip("/").rpartition("/")
        kind = "oci"
    else:
        repository, name, kind = release.repo, release.chart, "helm"
    if mirror:
        repository, kind = mirror.rstrip("/"), "oci" if mirror.startswith("oci://") else "helm"
    return ChartRef(kind, repository, name, release.version)


def without_values(chart_dir: Path, scratch: Path) -> Path:
    """A copy of a generated chart with an empty values.yaml, to package for every cluster.

    render writes a cluster's composed values into its generated chart's values.yaml (apply installs
    that chart with the same values, so they coincide); the chart's version covers everything but
    values.yaml. One archive per version serves every cluster, each engine object carrying that
    cluster's values, so a value one cluster sets must not ride along in the archive another gets.
    """
    copy = Path(tempfile.mkdtemp(prefix="generated-", dir=scratch)) / chart_dir.name
    shutil.copytree(chart_dir, copy)
    (copy / "values.yaml").write_text("{}\n", encoding="utf-8")
    return copy


def package(helm: HelmClient, source: Path, scratch: Path) -> Packaged:
    """``helm package`` a chart folder (an archive on disk is taken as it is), normalized."""
    if source.is_dir():
        folder = Path(tempfile.mkdtemp(prefix="package-", dir=scratch))
        archive = helm.package(source, folder)
    else:
        archive = source
    data = normalized(archive.read_bytes())
    name, version = _chart_identity(data, archive)
    return Packaged(name, version, data)


def normalized(data: bytes) -> bytes:
    """The same archive with fixed times and owners in every tar header and none in the gzip header."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as source:
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as zipped, tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as target:
            for member in source.getmembers():
                member.mtime = _FIXED_EPOCH
                member.uid = member.gid = 0
                member.uname = member.gname = ""
                member.pax_headers = {}
                content = source.extractfile(member) if member.isfile() else None
                target.addfile(member, content)
    return out.getvalue()


def _chart_identity(data: bytes, archive: Path) -> tuple[str, str]:
    """Name and version from the archive's own Chart.yaml (what the engine's helm will read)."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            parts = member.name.split("/")
            if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                handle = tar.extractfile(member)
                chart = yaml.safe_load(handle.read()) if handle else None
                if isinstance(chart, dict) and chart.get("name") and chart.get("version"):
                    return str(chart["name"]), str(chart["version"])
    raise ConfigError(Diagnostic(message=f"{archive} holds no Chart.yaml with a name and a version", rule="export.bad-chart"))


def write_repository(helm: HelmClient, charts: list[Packaged], folder: Path, url: str) -> None:
    """charts/: every packaged archive and the index.yaml ``helm repo index --url`` makes of them."""
    folder.mkdir(parents=True, exist_ok=True)
    for chart in charts:
        (folder / chart.file_name).write_bytes(chart.data)
    helm.repo_index(folder, url.rstrip("/"))
    index_path = folder / "index.yaml"
    index = yaml.safe_load(index_path.read_text(encoding="utf-8")) or {}
    index["generated"] = FIXED_TIME
    for versions in (index.get("entries") or {}).values():
        for entry in versions:
            entry["created"] = FIXED_TIME
    index_path.write_text(yaml.safe_dump(index, sort_keys=True, default_flow_style=False), encoding="utf-8")


def charts_url(stack: Stack, given: str | None, needed_by: list[ClusterRelease]) -> str | None:
    """The URL charts/ is served at: ``--charts-url``, else the stack's ``export.chartsUrl``; required
    when a release's chart is packaged (an engine could not fetch it otherwise)."""
    url = given or stack.export_charts_url
    if needed_by and not url:
        names = sorted({f"{item.release.cluster}/{item.name}" for item in needed_by})
        raise ConfigError(
            Diagnostic(
                message=(
                    f"{', '.join(names)}: the chart is generated by meshcharts or on disk, so the export packages it into "
                    f"{CHARTS_DIR}/; say where that folder will be served"
                ),
                rule="export.charts-url",
                hint="pass --charts-url http://HOST/PATH (or set export.chartsUrl in the stack file)",
            )
        )
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(Diagnostic(message=f"--charts-url {url} is not an http:// or https:// URL", rule="export.charts-url"))
    return url


def mirror_url(stack: Stack, given: str | None) -> str | None:
    """The mirror every repository and OCI chart is fetched from: ``--chart-repository``, else ``export.chartRepository``."""
    url = given or stack.export_repository
    if url and not url.startswith(("http://", "https://", "oci://")):
        raise ConfigError(Diagnostic(message=f"--chart-repository {url} is not an http://, https:// or oci:// URL", rule="export.chart-repository"))
    return url
