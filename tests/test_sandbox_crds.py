"""The CRD groups the sandbox provides, and what ``sandbox up`` says of a group it cannot provide; the
sandbox CLI's exit codes and JSON output. No cluster runs here: the check comes before anything starts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from meshcharts.charts.istio_addons import required_crds as addons_required_crds
from meshcharts.charts.mesh_extras import required_crds as extras_required_crds
from meshcharts.cli import main
from meshcharts.cli.sandbox import make_sandbox_group
from meshcharts.core.diagnostics import ConfigError, InvalidInput
from meshcharts.presets.scaffold import presets_dir
from meshcharts.sandbox import seed, standins
from meshcharts.sandbox.cluster import Sandbox, SandboxCluster
from meshcharts.sandbox.spec import DEFAULT_CRD_DIR
from tests.conftest import REPO_ROOT

MESH_EXTRAS_SCHEMA = REPO_ROOT / "meshcharts" / "schemas" / "mesh-extras-1.schema.json"

STACK = """\
name: crds
clusters:
  homelab:
    crds: [networking.istio.io, nosuch.example.com]
components:
  tracing:
    type: rancher-tracing
    version: 100.0.0
"""
# Where nosuch.example.com stands in STACK: line 4, column 33.
UNKNOWN_AT = "meshcharts.yaml:4:33: homelab: crds[1]: the sandbox cannot provide the CRD group nosuch.example.com"

ONE_CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: things.nosuch.example.com}
spec:
  group: nosuch.example.com
  names: {kind: Thing, listKind: ThingList, plural: things, singular: thing}
  scope: Namespaced
  versions:
  - {name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}
"""


def _shipped() -> dict[str, list[dict[str, Any]]]:
    return {group: seed.crd_documents(path, group) for group, path in standins.stand_ins([DEFAULT_CRD_DIR]).items()}


def _served(documents: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (crd,) = [document for document in documents if document["spec"]["names"]["kind"] == kind]
    return crd


@pytest.fixture()
def no_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty binary cache and no Go: anything that gets as far as building fails saying so."""
    monkeypatch.setenv("MESHCHARTS_CACHE", str(tmp_path / "cache"))
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def _stack(tmp_path: Path, text: str = STACK) -> Path:
    root = tmp_path / "stack"
    root.mkdir()
    (root / "meshcharts.yaml").write_text(text, encoding="utf-8")
    return root


def _sandbox_cli(root: Path, *args: str) -> Any:
    """``meshcharts sandbox ARGS`` run in the stack's folder (so its file reads ``meshcharts.yaml``)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        return CliRunner().invoke(main, ["sandbox", *args], catch_exceptions=False)


# --- what is shipped ---------------------------------------------------------------------------


def test_every_stand_in_file_holds_only_crds_of_its_group_with_one_storage_version() -> None:
    shipped = _shipped()
    assert set(shipped) >= {"monitoring.coreos.com", "ui.cattle.io", "networking.istio.io", "security.istio.io", "telemetry.istio.io"}
    for group, documents in shipped.items():
        for crd in documents:
            names = crd["spec"]["names"]
            assert crd["metadata"]["name"] == f"{names['plural']}.{group}"
            assert [version["storage"] for version in crd["spec"]["versions"]].count(True) == 1


def test_istio_gateway_and_virtualservice_are_served_at_every_version_mesh_extras_may_render() -> None:
    """mesh-extras renders Gateway and VirtualService at the apiVersion its schema allows (v1beta1 default)."""
    schema = json.loads(MESH_EXTRAS_SCHEMA.read_text(encoding="utf-8"))
    allowed = set()
    for node in _walk(schema):
        if isinstance(node, dict) and isinstance(node.get("apiVersion"), dict) and "enum" in node["apiVersion"]:
            allowed |= {value.split("/")[1] for value in node["apiVersion"]["enum"] if value.startswith("networking.istio.io/")}
    assert allowed == {"v1beta1", "v1"}
    networking = _shipped()["networking.istio.io"]
    for kind in ("Gateway", "VirtualService", "DestinationRule"):
        crd = _served(networking, kind)
        assert crd["spec"]["scope"] == "Namespaced"
        assert {v["name"] for v in crd["spec"]["versions"] if v["served"]} == {"v1", "v1beta1", "v1alpha3"}
    assert _served(networking, "Gateway")["spec"]["names"]["shortNames"] == ["gw"]


def _walk(node: Any) -> list[Any]:
    found = [node]
    if isinstance(node, dict):
        for item in node.values():
            found += _walk(item)
    elif isinstance(node, list):
        for item in node:
            found += _walk(item)
    return found


def test_every_group_a_generated_chart_needs_or_a_preset_names_is_shipped() -> None:
    everything_on = {
        "monitors": {"enabled": True, "envoy": {"kind": "ServiceMonitor"}},
        "exposure": {"navLinks": {"kiali": {}}, "istio": {"kiali": {}}},
    }
    needed = extras_required_crds(everything_on) | addons_required_crds({"prometheusOperatorMonitors": {"enabled": True}})
    shipped = _shipped()
    for group, kinds in needed.items():
        assert group in shipped, group
        assert set(kinds) <= {crd["spec"]["names"]["kind"] for crd in shipped[group]}, (group, kinds)
    for stack in sorted(presets_dir().glob("*/meshcharts.yaml")):
        for name, cluster in yaml.safe_load(stack.read_text(encoding="utf-8"))["clusters"].items():
            assert set(cluster.get("crds") or ()) <= set(shipped), (stack, name)


# --- choosing stand-ins ------------------------------------------------------------------------


def test_a_folder_given_first_wins_over_the_shipped_stand_ins(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "networking.istio.io.yaml").write_text(ONE_CRD)
    (mine / "notes.txt").write_text("not a stand-in")
    found = standins.stand_ins([mine, DEFAULT_CRD_DIR])
    assert found["networking.istio.io"] == mine / "networking.istio.io.yaml"
    assert found["ui.cattle.io"] == DEFAULT_CRD_DIR / "ui.cattle.io.yaml"
    assert "notes.txt" not in found and "notes" not in found


def test_a_stand_in_of_another_group_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "networking.istio.io.yaml"
    path.write_text(ONE_CRD)
    with pytest.raises(InvalidInput, match="a CRD of group nosuch.example.com in the stand-ins for networking.istio.io"):
        seed.crd_documents(path, "networking.istio.io")


def test_up_refuses_an_unknown_group_before_building_or_starting_anything(tmp_path: Path, no_go: None) -> None:
    sandbox = Sandbox(tmp_path / "sandbox", [SandboxCluster("a", crd_groups=("networking.istio.io", "nosuch.example.com"))])
    with pytest.raises(ConfigError) as caught:
        sandbox.up(lambda line: None)
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.rule == "sandbox.crds-unavailable" and diagnostic.cluster == "a"
    assert "nosuch.example.com" in diagnostic.message and "networking.istio.io" in (diagnostic.hint or "")
    assert not (tmp_path / "sandbox").exists()


# --- the CLI -----------------------------------------------------------------------------------


def test_cli_up_names_the_unknown_group_at_its_stack_line_with_exit_2(tmp_path: Path, no_go: None) -> None:
    root = _stack(tmp_path)
    result = _sandbox_cli(root, "up")
    assert result.exit_code == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(UNKNOWN_AT)
    assert "--crd-dir FOLDER" in line
    assert not (root / ".meshcharts" / "sandbox" / "kwok").exists()


def test_cli_up_json_is_one_document_and_nothing_else(tmp_path: Path, no_go: None) -> None:
    result = _sandbox_cli(_stack(tmp_path), "up", "--output", "json")
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    (error,) = document["errors"]
    assert (error["file"], error["line"], error["column"], error["path"]) == ("meshcharts.yaml", 4, 33, "crds[1]")
    assert error["rule"] == "sandbox.crds-unavailable"
    assert result.stderr == ""


def test_cli_up_with_a_crd_dir_for_the_group_gets_past_the_check(tmp_path: Path, no_go: None) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "nosuch.example.com.yaml").write_text(ONE_CRD)
    result = _sandbox_cli(_stack(tmp_path), "up", "--crd-dir", str(mine), "-o", "json")
    # Next comes building the binaries, which needs Go: the group itself was accepted.
    assert result.exit_code == 2
    assert [error["rule"] for error in json.loads(result.stdout)["errors"]] == ["sandbox.go-missing"]


def test_cli_up_with_a_broken_stand_in_stops_before_building(tmp_path: Path, no_go: None) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "networking.istio.io.yaml").write_text(ONE_CRD)  # CRDs of another group
    (mine / "nosuch.example.com.yaml").write_text(ONE_CRD)
    result = _sandbox_cli(_stack(tmp_path), "up", "--crd-dir", str(mine), "-o", "json")
    assert result.exit_code == 1
    (error,) = json.loads(result.stdout)["errors"]
    assert error["rule"] == "sandbox.crds" and "in the stand-ins for networking.istio.io" in error["message"]


@pytest.mark.parametrize(
    "args",
    [
        ["--cluster", "=ctx", "status"],  # a --cluster spec without a name
        ["up"],  # no clusters to start
        ["status", "--output", "yaml"],
        ["nosuch"],
    ],
    ids=["bad-cluster-spec", "no-clusters", "bad-output", "unknown-command"],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = CliRunner().invoke(make_sandbox_group(), ["--workdir", str(tmp_path), *args])
    assert result.exit_code == 2, result.output


def test_usage_errors_in_json_print_only_the_error_document(tmp_path: Path) -> None:
    result = CliRunner().invoke(make_sandbox_group(), ["--workdir", str(tmp_path), "--cluster", "=ctx", "status", "-o", "json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"][0]["rule"] == "sandbox.usage"
    assert result.stderr == ""


def test_kubeconfig_before_up_in_json_is_one_document_and_exit_1(tmp_path: Path) -> None:
    result = CliRunner().invoke(make_sandbox_group(), ["--workdir", str(tmp_path), "--cluster", "east", "kubeconfig", "--output", "json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["errors"][0]["rule"] == "sandbox.not-up"
    assert result.stderr == ""


def test_status_of_a_stack_takes_output_json(tmp_path: Path) -> None:
    root = _stack(tmp_path)
    for option in ("--output", "-o"):
        result = _sandbox_cli(root, "status", option, "json")
        assert result.exit_code == 1  # not running
        document = json.loads(result.stdout)
        assert document["kubeconfig"] is None
        assert [(c["cluster"], c["state"]) for c in document["clusters"]] == [("homelab", "absent")]


def test_a_stack_that_cannot_be_found_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["sandbox", "--stack", str(tmp_path / "nowhere"), "status", "-o", "json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["errors"][0]["rule"] == "stack.not-found"
