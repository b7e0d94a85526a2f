"""``meshcharts pull`` and the chart sources apply installs from: offline directory, cache, lock file.

No chart repository is reached: the charts are tiny archives packaged here with the real helm.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

import meshcharts
from meshcharts.core.diagnostics import ConfigError
from meshcharts.deploy.prepare import resolve_chart
from meshcharts.deploy.pull import chart_requests, pull_charts
from meshcharts.deploy.render import render_project
from meshcharts.deploy.sources import LOCK_FILE, read_lock
from meshcharts.helm import HelmClient
from tests.conftest import MINIMAL_STACK, StackDir

pytestmark = pytest.mark.helm

CHARTS = Path(__file__).parent / "fixtures" / "charts"


def _archive(helm: HelmClient, name: str, version: str, out: Path, *, marker: str = "") -> Path:
    """A throw-away chart named and versioned like a real one, packaged by the real helm."""
    source = out.parent / f"src-{name}-{version}-{marker or 'a'}" / name
    shutil.copytree(CHARTS / "listy", source)
    chart = yaml.safe_load((source / "Chart.yaml").read_text())
    chart.update(name=name, version=version, description=f"stand-in {marker}")
    (source / "Chart.yaml").write_text(yaml.safe_dump(chart))
    archive = helm.package(source, out)
    assert archive.name == f"{name}-{version}.tgz"
    return archive


@pytest.fixture
def offline(tmp_path: Path, helm_client: HelmClient, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$MESHCHARTS_CHARTS with the minimal stack's two charts, and a private chart cache."""
    folder = tmp_path / "offline"
    _archive(helm_client, "kiali-server", "1.89.3", folder)
    _archive(helm_client, "rancher-tracing", "100.0.0", folder)
    monkeypatch.setenv("MESHCHARTS_CHARTS", str(folder))
    monkeypatch.setenv("MESHCHARTS_CACHE", str(tmp_path / "cache"))
    return folder


@pytest.fixture
def stack(tmp_path: Path) -> StackDir:
    stack = StackDir(tmp_path / "stack")
    stack.write("meshcharts.yaml", MINIMAL_STACK)
    return stack


def test_the_stack_asks_for_each_repository_chart_once(stack: StackDir) -> None:
    requests = chart_requests(meshcharts.open_project(stack.root))
    assert sorted((r.name, r.version) for r in requests) == [("kiali-server", "1.89.3"), ("rancher-tracing", "100.0.0")]


def test_pull_records_digests_from_the_offline_directory(stack: StackDir, offline: Path) -> None:
    pulled = pull_charts(meshcharts.open_project(stack.root))
    assert sorted(item.state for item in pulled) == ["recorded", "recorded"]
    lock = yaml.safe_load((stack.root / LOCK_FILE).read_text())
    assert {entry["chart"] for entry in lock["charts"]} == {"kiali-server", "rancher-tracing"}
    assert all(entry["digest"].startswith("sha256:") and len(entry["digest"]) == 71 for entry in lock["charts"])
    again = pull_charts(meshcharts.open_project(stack.root))
    assert sorted(item.state for item in again) == ["verified", "verified"]


def test_pull_refuses_a_chart_that_changed_under_the_same_version(
    stack: StackDir, offline: Path, helm_client: HelmClient
) -> None:
    pull_charts(meshcharts.open_project(stack.root))
    before = (stack.root / LOCK_FILE).read_text()
    (offline / "kiali-server-1.89.3.tgz").unlink()
    _archive(helm_client, "kiali-server", "1.89.3", offline, marker="swapped")
    with pytest.raises(ConfigError) as info:
        pull_charts(meshcharts.open_project(stack.root))
    assert info.value.diagnostics[0].rule == "pull.digest-mismatch"
    assert (stack.root / LOCK_FILE).read_text() == before  # the lock is not rewritten


def test_apply_installs_only_pulled_charts_with_the_recorded_digest(stack: StackDir, offline: Path) -> None:
    project = meshcharts.open_project(stack.root)
    rendered = render_project(project, "east")
    kiali = next(item for item in rendered.clusters["east"] if item.release.component == "kiali")
    with pytest.raises(ConfigError) as info:
        resolve_chart(project, kiali, rendered.output / "east", read_lock(stack.root))
    assert info.value.diagnostics[0].rule == "apply.chart-not-pulled"
    assert "meshcharts pull" in (info.value.diagnostics[0].hint or "")
    pull_charts(project)
    chart = resolve_chart(project, kiali, rendered.output / "east", read_lock(stack.root))
    assert chart.origin == "cache" and chart.path.name == f"{chart.digest}.tgz"
    chart.path.write_bytes(chart.path.read_bytes() + b"tampered")
    with pytest.raises(ConfigError):
        resolve_chart(project, kiali, rendered.output / "east", read_lock(stack.root))


def test_pull_cli_prints_what_it_recorded(stack: StackDir, offline: Path) -> None:
    result = stack.cli("pull", "--output", "json")
    assert result.exit_code == 0, result.output
    charts = json.loads(result.output)["charts"]
    assert {(c["chart"], c["state"]) for c in charts} == {("kiali-server", "recorded"), ("rancher-tracing", "recorded")}


def test_a_broken_lock_file_is_one_config_error(stack: StackDir) -> None:
    stack.write(LOCK_FILE, "charts: [{chart: x}]\n")
    with pytest.raises(ConfigError) as info:
        read_lock(stack.root)
    assert info.value.diagnostics[0].rule == "pull.bad-lock"


def test_the_stack_files_chart_folders_are_searched_after_the_environment(
    stack: StackDir, offline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.move(str(offline), str(stack.root / "offline"))
    monkeypatch.delenv("MESHCHARTS_CHARTS")
    stack.write("meshcharts.yaml", MINIMAL_STACK + "charts: [./offline]\n")
    pulled = pull_charts(meshcharts.open_project(stack.root))
    assert {item.locked.source for item in pulled} == {f"file {stack.root / 'offline'}"}
