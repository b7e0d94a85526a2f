"""``render`` writes final values (secrets as placeholders) and generated charts, deterministically,
and writes nothing when the stack is invalid."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO_ROOT, StackDir


@pytest.fixture()
def example(tmp_path: Path) -> StackDir:
    shutil.copy(REPO_ROOT / "meshcharts.yaml", tmp_path / "meshcharts.yaml")
    shutil.copytree(REPO_ROOT / "values", tmp_path / "values")
    return StackDir(tmp_path)


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def test_render_writes_values_in_install_order(example: StackDir) -> None:
    result = example.cli("render", "-o", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    east = [item["release"] for item in document["clusters"]["east"]]
    assert east[:2] == ["rancher-kiali-server-crd", "rancher-kiali-server"]
    values = yaml.safe_load((example.root / "charts-out/east/rancher-kiali-server.values.yaml").read_text())
    assert values["external_services"]["tracing"]["use_grpc"] is False
    assert values["global"]["cattle"]["clusterId"] == "c-pzk8b"
    west = yaml.safe_load((example.root / "charts-out/west/rancher-kiali-server.values.yaml").read_text())
    assert west["global"]["cattle"]["clusterId"] == "c-8x2kq"
    index = yaml.safe_load((example.root / "charts-out/east/releases.yaml").read_text())
    assert [r["release"] for r in index["releases"]] == east


def test_render_is_byte_identical_on_rerun(example: StackDir) -> None:
    assert example.cli("render").exit_code == 0
    first = _snapshot(example.root / "charts-out")
    assert example.cli("render").exit_code == 0
    assert _snapshot(example.root / "charts-out") == first


def test_secrets_stay_placeholders_on_disk_and_in_output(example: StackDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAFANA_TOKEN", "s3cr3t-token-value")
    example.write(
        "values/clusters/east/kiali.yaml",
        "external_services:\n  grafana:\n    auth: {type: bearer, token: !env GRAFANA_TOKEN}\n",
    )
    result = example.cli("render")
    assert result.exit_code == 0, result.output
    assert "s3cr3t-token-value" not in result.output
    for name, content in _snapshot(example.root / "charts-out").items():
        assert b"s3cr3t-token-value" not in content, name
    text = (example.root / "charts-out/east/rancher-kiali-server.values.yaml").read_text()
    assert "token: <secret from env GRAFANA_TOKEN>" in text
    assert "# secret: external_services.grafana.auth.token is read from the environment at apply time" in text


def test_invalid_stack_renders_nothing(example: StackDir) -> None:
    example.write("values/clusters/west/tracing.yaml", "jaeger: {spanStorageType: cassandra}\n")
    result = example.cli("render")
    assert result.exit_code == 1
    assert "values/clusters/west/tracing.yaml:1:27: west/tracing: jaeger.spanStorageType" in result.output
    assert not (example.root / "charts-out").exists()


def test_render_one_cluster_leaves_the_others(example: StackDir) -> None:
    assert example.cli("render", "--cluster", "east").exit_code == 0
    assert (example.root / "charts-out/east").is_dir()
    assert not (example.root / "charts-out/west").exists()
    result = example.cli("render", "--cluster", "eats")
    assert result.exit_code == 2
    assert 'no cluster "eats"' in result.output


def test_render_replaces_stale_files(example: StackDir) -> None:
    assert example.cli("render").exit_code == 0
    stale = example.root / "charts-out/east/old-release.values.yaml"
    stale.write_text("x: 1\n")
    assert example.cli("render").exit_code == 0
    assert not stale.exists()
    leftovers = [p.name for p in (example.root / "charts-out").iterdir() if p.name.startswith(".")]
    assert leftovers == []
