"""The charts meshcharts generates never emit an API version Kubernetes removed.

mesh-extras is meshcharts' own templates: rendered with every section on, nothing in it is in the
removal table. istio-addons is copied from the user's Istio release: removed-but-equivalent versions are
moved on (Istio 1.7's rbac.authorization.k8s.io/v1beta1), the rest is refused with the object named
(Istio 1.7 to 1.9's apiextensions.k8s.io/v1beta1 CRD in kiali.yaml), at render and already at validate.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from meshcharts.charts import (
    GeneratorError,
    generate_istio_addons,
    generate_mesh_extras,
)
from meshcharts.core.kubeapis import removal
from meshcharts.helm import HelmClient
from tests.conftest import StackDir

ADDONS = Path(__file__).parent / "fixtures" / "addons" / "istio-1.99.0"

EVERYTHING: dict[str, Any] = {
    "networkPolicies": {"kiali": {"podSelector": {}, "egress": {"ports": [{"port": 8081}], "kubeApiServer": True}, "ingress": {"ports": [{"port": 20001}]}}},
    "monitors": {"envoy": {"kind": "ServiceMonitor"}},
    "scrapeConfigs": {"enabled": True, "namespace": "monitoring"},
    "dashboards": {"items": {"mesh": {"json": {"title": "Mesh"}}}},
    "exposure": {
        "nodePortServices": {"kiali": {"selector": {"app": "kiali"}, "ports": [{"name": "http", "port": 20001, "nodePort": 31673}]}},
        "navLinks": {"kiali": {"toService": {"namespace": "istio-system", "name": "kiali", "port": "20001", "path": "/kiali"}}},
        "istio": {"kiali": {"host": "kiali.example.com", "service": {"name": "kiali", "port": 20001}}},
    },
}


def _removed(manifests: list[dict[str, Any]]) -> list[str]:
    return [f"{m['apiVersion']} {m['kind']}" for m in manifests if removal(str(m.get("apiVersion")), str(m.get("kind"))) is not None]


def test_mesh_extras_with_everything_on_renders_only_current_apis(tmp_path: Path, helm_client: HelmClient) -> None:
    chart = generate_mesh_extras(EVERYTHING, tmp_path)
    manifests = helm_client.template("extras", chart.path, namespace="istio-system", values=EVERYTHING)
    kinds = {m["kind"] for m in manifests}
    assert {"NetworkPolicy", "ServiceMonitor", "Secret", "ConfigMap", "Service", "NavLink", "Gateway", "VirtualService"} <= kinds
    assert _removed(manifests) == []


def _old_addons(tmp_path: Path, *, crd: bool) -> Path:
    """The repo's small Istio stand-in, aged like Istio 1.7's samples/addons."""
    root = tmp_path / "istio-1.7.0"
    shutil.copytree(ADDONS, root)
    addons = root / "samples" / "addons"
    prometheus = addons / "prometheus.yaml"
    prometheus.write_text(prometheus.read_text().replace("apiVersion: rbac.authorization.k8s.io/v1\n", "apiVersion: rbac.authorization.k8s.io/v1beta1\n"))
    if crd:
        kiali = addons / "kiali.yaml"
        kiali.write_text(
            "apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\nmetadata:\n  name: monitoringdashboards.monitoring.kiali.io\n"
            "spec:\n  group: monitoring.kiali.io\n  names: {kind: MonitoringDashboard, plural: monitoringdashboards}\n  scope: Namespaced\n  version: v1alpha1\n---\n"
            + kiali.read_text()
        )
    return root


def test_istio_addons_moves_rbac_v1beta1_to_v1(tmp_path: Path, helm_client: HelmClient) -> None:
    source = _old_addons(tmp_path, crd=False)
    assert "rbac.authorization.k8s.io/v1beta1" in (source / "samples/addons/prometheus.yaml").read_text()
    chart = generate_istio_addons({}, tmp_path / "out", source=source)
    manifests = helm_client.template("addons", chart.path, namespace="istio-system", values={})
    assert _removed(manifests) == []
    assert any(m["kind"] == "ClusterRole" and m["apiVersion"] == "rbac.authorization.k8s.io/v1" for m in manifests)
    assert any("ClusterRole prometheus is rbac.authorization.k8s.io/v1beta1, which Kubernetes 1.22 removed: written as rbac.authorization.k8s.io/v1" in note for note in chart.notes)


CRD_REFUSAL = (
    "samples/addons/kiali.yaml: CustomResourceDefinition monitoringdashboards.monitoring.kiali.io is apiextensions.k8s.io/v1beta1, "
    "which Kubernetes 1.22 removed (apiextensions.k8s.io/v1 is not a drop-in replacement); use the samples/addons of a newer Istio release"
)


def test_istio_addons_refuses_a_v1beta1_crd(tmp_path: Path) -> None:
    source = _old_addons(tmp_path, crd=True)
    with pytest.raises(GeneratorError) as raised:
        generate_istio_addons({}, tmp_path / "out", source=source)
    assert raised.value.problems == [("source", CRD_REFUSAL)]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_validate_already_refuses_it_at_source(stack_dir: StackDir) -> None:
    _old_addons(stack_dir.root, crd=True)
    stack_dir.write(
        "meshcharts.yaml",
        "name: demo\nclusters: {east: {}}\ncomponents:\n  addons:\n    type: istio-addons\n    version: 1.7.0\n    source: istio-1.7.0\n",
    )
    document = json.loads(stack_dir.cli("validate", "-o", "json").output)
    (error,) = [e for e in document["errors"] if e["rule"] == "addons.source"]
    assert (error["file"], error["line"], error["path"], error["message"]) == ("meshcharts.yaml", 4, "source", CRD_REFUSAL)


@pytest.mark.parametrize("preset", ["kube-prometheus", "existing-monitoring"])
def test_presets_generated_charts_render_only_current_apis(preset: str, tmp_path: Path, helm_client: HelmClient) -> None:
    import yaml

    stack = StackDir(tmp_path / preset)
    StackDir(tmp_path).cli("init", preset, "--preset", preset, "--addons-source", str(ADDONS))
    stack_file = stack.root / "meshcharts.yaml"  # the kube-prometheus preset's local .tgz is the user's to fetch
    stack_file.write_text("\n".join(line for line in stack_file.read_text().splitlines() if not line.strip().startswith("chart: ./")) + "\n")
    rendered = stack.cli("render", "-o", "json")
    assert rendered.exit_code == 0, rendered.output
    for cluster, releases in json.loads(rendered.output)["clusters"].items():
        for release in releases:
            if release["repo"] is None:
                folder = stack.root / "charts-out" / cluster
                values = yaml.safe_load((folder / release["values"]).read_text())
                manifests = helm_client.template(release["release"], folder / release["chart"], namespace=release["namespace"], values=values)
                assert _removed(manifests) == [], release["release"]
