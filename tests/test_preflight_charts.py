"""A chart's kubeVersion judged as the real helm judges it, and its crds/ read from a folder or an archive.

The constraint tests ask the real helm binary for each verdict (``helm template --kube-version``, which
runs helm's own kubeVersion check) and compare; the constraints include every kubeVersion the reference
charts and the stand-ins declare.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import semver
import yaml

from meshcharts.core.diagnostics import InvalidInput
from meshcharts.deploy import chartfiles
from meshcharts.deploy.preflight import chart_crds, chart_kube_version, crd_kinds
from meshcharts.helm.locate import helm_cache_dir
from meshcharts.helm.constraints import ConstraintError, parse_constraint, satisfies
from tests.conftest import REFERENCE_CHARTS, REPO_ROOT
from tests.standin_helpers import standins  # noqa: F401  (session fixture: the packaged stand-in charts)


def _declared() -> list[str]:
    """Every kubeVersion (and Rancher's kube-version annotation) in the reference charts and stand-ins."""
    found = set()
    for chart_yaml in [*REFERENCE_CHARTS.rglob("Chart.yaml"), *(REPO_ROOT / "standin-charts").rglob("Chart.yaml")]:
        meta = yaml.safe_load(chart_yaml.read_text()) or {}
        for value in (meta.get("kubeVersion"), (meta.get("annotations") or {}).get("catalog.cattle.io/kube-version")):
            if value:
                found.add(str(value))
    return sorted(found)


DECLARED = _declared()
CONSTRAINTS = [
    *DECLARED,
    ">=1.19.0", ">= 1.21.0 < 1.30.0", ">=1.20.0, <1.30.0", "1.2 - 1.27", "~1.27", "~1.27.3", "~>1.27", "^1.27", "^0.2",
    "1.27.x", "1.x", "!=1.27.x", "!=1.27.3", ">1.27", ">1.27.3", "<=1.27", "<1.28.0-0", "=1.27.3", "1.27.3",
    "<1.21 || >=1.28", "~1.27.0-0", "*", ">= 1.x", "=>1.27", "=<1.27.3", "v1.27", "1.27.3-gke.1700",
    ">=1.19.0-0 <1.30.0", "^0.1.2", "1.2 - 1.27 >1.0", "1.05",
]
VERSIONS = ["v0.1.5", "v1.20.0", "v1.26.9", "v1.27.3", "v1.27.3-gke.1700", "v1.28.1", "v2.0.0"]


@pytest.mark.reference
def test_the_reference_charts_declare_the_constraints_we_know() -> None:
    if not REFERENCE_CHARTS.is_dir():
        pytest.skip("../shared/reference/charts is not present")
    assert {">=1.16.0-0", "^1.8.0-0", ">=1.25.0-0", "^1.25.0-0", ">= 1.23.0-0 < 1.31.0-0"} <= set(DECLARED)


def _helms() -> list[Path]:
    """Every helm .ci/install-helm installed on this machine (3.10.1 always; 3.22.0 and 4.3.1 once built)."""
    folder = helm_cache_dir()
    return sorted(path / "helm" for path in folder.iterdir() if os.access(path / "helm", os.X_OK)) if folder.is_dir() else []


def _renders(helm: Path, chart: Path, version: str, home: dict[str, str]) -> bool:
    result = subprocess.run(
        [str(helm), "template", "r", str(chart), "--kube-version", version],
        env={"PATH": "/usr/bin:/bin", **home}, capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0 or "kubeVersion" in result.stderr, result.stderr
    return result.returncode == 0


def _chart(folder: Path, constraint: str) -> Path:
    (folder / "templates").mkdir(parents=True)
    (folder / "Chart.yaml").write_text(yaml.safe_dump({"apiVersion": "v2", "name": folder.name, "version": "1.0.0", "kubeVersion": constraint}))
    (folder / "templates" / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    return folder


@dataclass(frozen=True)
class Verdicts:
    helm: semver.Version
    reduces: bool  # this helm cuts --kube-version to MAJOR.MINOR.PATCH (a live cluster's gitVersion it checks whole)
    rendered: dict[tuple[str, str], bool]  # (constraint, --kube-version) -> whether helm rendered the chart


@pytest.fixture(scope="module", params=_helms(), ids=lambda path: f"helm-{path.parent.name}")
def helm_verdicts(request: pytest.FixtureRequest, helm_home: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Verdicts:
    """What one real helm decides for every constraint and cluster version."""
    helm = request.param
    root = tmp_path_factory.mktemp("kube-version-charts")
    # Newer helms read --kube-version with Kubernetes' own parser, which keeps only the numbers: an
    # exact prerelease constraint then no longer matches. Against a cluster they check its gitVersion.
    reduces = not _renders(helm, _chart(root / "probe", "1.27.3-gke.1700"), "v1.27.3-gke.1700", helm_home)
    charts = {constraint: _chart(root / f"c{index}", constraint) for index, constraint in enumerate(CONSTRAINTS)}
    cases = [(constraint, version) for constraint in CONSTRAINTS for version in VERSIONS]
    with ThreadPoolExecutor(max_workers=4) as pool:  # one helm process per case; they wait on each other's I/O
        answers = pool.map(lambda case: _renders(helm, charts[case[0]], case[1], helm_home), cases)
        rendered = dict(zip(cases, answers))
    return Verdicts(semver.Version.parse(helm.parent.name), reduces, rendered)


@pytest.mark.helm
def test_every_verdict_is_the_real_helms(helm_verdicts: Verdicts) -> None:
    helm = helm_verdicts.helm
    different = {}
    for (constraint, version), real in helm_verdicts.rendered.items():
        seen = "v" + version.lstrip("v").split("-")[0].split("+")[0] if helm_verdicts.reduces else version
        if satisfies(constraint, seen, helm) != real:
            different[(constraint, version)] = real
    assert different == {}
    assert any(helm_verdicts.rendered.values()) and not all(helm_verdicts.rendered.values())


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        (">=1.19.0-0", "v1.27.3-gke.1700", True),  # the -0 admits the prereleases managed clusters report
        (">=1.19.0-0 <1.30.0", "v1.27.3-gke.1700", True),  # in the whole alternative (helm 3.11 on)
        (">=1.19.0", "v1.27.3-gke.1700", False),
        (">=1.19.0", "v1.30.4+k3s1", True),  # build metadata is no prerelease
        (">= 1.23.0-0 < 1.31.0-0", "v1.37.2", False),
        ("^1.25.0-0", "v1.24.17", False),
        ("1.2 - 1.4", "1.4.9", True),
        ("<1.21 || >=1.28", "1.27.9", False),
    ],
)
def test_known_cases(constraint: str, version: str, expected: bool) -> None:
    assert satisfies(constraint, version) is expected


@pytest.mark.parametrize(
    ("constraint", "version", "expected"),
    [
        (">=1.19.0-0 <1.30.0", "v1.27.3-gke.1700", False),  # each bound decides for itself
        ("!=1.27.3", "v1.27.3-gke.1700", True),  # != never excluded a prerelease
        ("1.2>1.0", "v1.2.5", True),  # no separator needed between bounds
        ("^0.0.3", "v0.1.3", True),
    ],
)
def test_helm_up_to_3_10_reads_some_constraints_differently(constraint: str, version: str, expected: bool) -> None:
    assert satisfies(constraint, version, semver.Version(3, 10, 1)) is expected
    assert satisfies(constraint, version) is not expected


@pytest.mark.parametrize("text", ["", ">= one", "1.2.3 ||", "=> => 1.2", "1.2.3.4", ">=1.x.y"])
def test_what_helm_cannot_read_is_refused(text: str) -> None:
    with pytest.raises(ConstraintError):
        parse_constraint(text)
    assert satisfies(text, "1.2.3") is False


@pytest.mark.helm
def test_the_packaged_stand_ins(standins: dict[str, Path]) -> None:  # noqa: F811
    old, new = standins["kube-prometheus-stack-45.1.1"], standins["kube-prometheus-stack-88.5.3"]
    assert (chart_kube_version(old), chart_kube_version(new)) == (">=1.16.0-0", ">=1.25.0-0")
    for chart in (old, new):  # 45.1.1 ships them in crds/, 88.5.3 in its crds subchart's crds/
        kinds = crd_kinds(chart_crds(chart))
        assert kinds[("monitoring.coreos.com/v1", "ServiceMonitor")] is True
    assert chart_kube_version(standins["rancher-tracing-100.0.0"]) is None
    assert chart_crds(standins["rancher-tracing-100.0.0"]) == []


def _crd(group: str, kind: str, versions: tuple[str, ...] = ("v1",), scope: str = "Namespaced") -> str:
    spec = {"group": group, "names": {"kind": kind, "plural": kind.lower() + "s"}, "scope": scope,
            "versions": [{"name": v, "served": True, "storage": i == 0} for i, v in enumerate(versions)]}
    return yaml.safe_dump({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": f"{kind.lower()}s.{group}"}, "spec": spec})


def _archive(members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            archive.addfile(info)
    return buffer.getvalue()


def test_a_folder_chart_with_subcharts_in_folders_and_archives(tmp_path: Path) -> None:
    chart = tmp_path / "top"
    (chart / "crds").mkdir(parents=True)
    (chart / "Chart.yaml").write_text('apiVersion: v2\nname: top\nversion: 1.0.0\nkubeVersion: ">= 1.21.0 < 1.40.0"\n')
    (chart / "crds" / "a.yaml").write_text(_crd("a.example.io", "Alpha", ("v1", "v1beta1")))
    (chart / "crds" / "notes.txt").write_text("not a manifest")
    (chart / "charts" / "sub" / "crds").mkdir(parents=True)
    (chart / "charts" / "sub" / "Chart.yaml").write_text("apiVersion: v2\nname: sub\nversion: 1.0.0\nkubeVersion: <1.10.0\n")
    (chart / "charts" / "sub" / "crds" / "b.yml").write_text(_crd("b.example.io", "Beta", scope="Cluster"))
    (chart / "charts" / "packed-1.0.0.tgz").write_bytes(_archive({"packed/Chart.yaml": b"name: packed\n", "packed/crds/c.json": _crd("c.example.io", "Gamma").encode()}))
    assert chart_kube_version(chart) == ">= 1.21.0 < 1.40.0"  # the subchart's own kubeVersion is not helm's concern
    assert crd_kinds(chart_crds(chart)) == {
        ("a.example.io/v1", "Alpha"): True, ("a.example.io/v1beta1", "Alpha"): True,
        ("b.example.io/v1", "Beta"): False, ("c.example.io/v1", "Gamma"): True,
    }


def test_an_archive_is_read_without_extracting_and_outside_paths_are_ignored(tmp_path: Path) -> None:
    packed = tmp_path / "hostile-1.0.0.tgz"
    packed.write_bytes(
        _archive(
            {
                "hostile/Chart.yaml": b"name: hostile\nkubeVersion: '>=1.25.0-0'\n",
                "hostile/crds/ok.yaml": _crd("ok.example.io", "Fine").encode(),
                "hostile/crds/../../escape.yaml": _crd("bad.example.io", "Escape").encode(),
                "/abs/crds/x.yaml": _crd("bad.example.io", "Absolute").encode(),
            },
            symlinks={"hostile/crds/link.yaml": "/etc/passwd"},
        )
    )
    before = sorted(tmp_path.rglob("*"))
    assert chart_kube_version(packed) == ">=1.25.0-0"
    assert list(crd_kinds(chart_crds(packed))) == [("ok.example.io/v1", "Fine")]
    assert sorted(tmp_path.rglob("*")) == before


def test_unreadable_charts_are_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cases = {
        "not-an-archive.tgz": b"plain text",
        "no-chart-yaml.tgz": _archive({"x/values.yaml": b"{}\n"}),
        "bad-yaml.tgz": _archive({"x/Chart.yaml": b"name: x\n", "x/crds/a.yaml": b"kind: a: b\n"}),
        "huge.tgz": _archive({"x/Chart.yaml": b"name: x\n", "x/crds/a.yaml": b"#" * 2048}),
    }
    monkeypatch.setattr(chartfiles, "MAX_FILE", 1024)
    messages = {}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(InvalidInput) as raised:
            chart_kube_version(tmp_path / name) if name == "no-chart-yaml.tgz" else chart_crds(tmp_path / name)
        (diagnostic,) = raised.value.diagnostics
        assert diagnostic.rule == "preflight.chart" and diagnostic.location is not None
        messages[name] = diagnostic.message
    assert messages["no-chart-yaml.tgz"] == "cannot read the chart: it has no Chart.yaml"
    assert messages["bad-yaml.tgz"] == "cannot read the chart: crds/a.yaml line 1 is not YAML"
    assert messages["huge.tgz"] == "cannot read the chart: x/crds/a.yaml is larger than 1024 bytes"
    assert messages["not-an-archive.tgz"].startswith("cannot read the chart: not a chart archive")
    with pytest.raises(InvalidInput, match="No such file"):
        chart_crds(tmp_path / "missing.tgz")
