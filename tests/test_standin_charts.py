"""The stand-in charts (standin-charts/, packaged by scripts/standin-charts) behave like the real ones
where meshcharts depends on them: they lint and render with the real helm, accept the bundled
example's values and meshcharts' composed values, render the real Services, Pod ports and CRDs
(tests/test_standin_facts.py) and never an API version a current cluster has dropped."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.standin_helpers import (  # noqa: F401  (fixtures)
    SCRIPT,
    Helm,
    helm,
    package,
    pod_templates,
    services,
    standins,
)

pytestmark = pytest.mark.helm

# Every stand-in the sandbox and the tests install: name-version, as `MESHCHARTS_CHARTS` serves them.
CHARTS = [
    "grafana-6.50.7",
    "grafana-12.11.1",
    "istiod-1.13.9",
    "istiod-1.30.3",
    "kiali-server-1.45.0",
    "kiali-server-1.89.3",
    "kiali-server-2.29.0",
    "kube-prometheus-stack-45.1.1",
    "kube-prometheus-stack-88.5.3",
    "rancher-kiali-server-100.0.0+up1.35.0",
    "rancher-kiali-server-crd-100.0.0+up1.35.0",
    "rancher-tracing-100.0.0",
]

# API versions Kubernetes removed up to 1.37 (the sandbox's version): an object using one fails to install.
REMOVED_APIS = {
    "policy/v1beta1",
    "extensions/v1beta1",
    "apps/v1beta1",
    "apps/v1beta2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "apiextensions.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1beta1",
    "networking.k8s.io/v1beta1",
    "admissionregistration.k8s.io/v1beta1",
    "batch/v1beta1",
    "scheduling.k8s.io/v1beta1",
    "storage.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "discovery.k8s.io/v1beta1",
}

# Every switch of the real charts that renders a PodSecurityPolicy, an HPA, an Ingress or a PDB.
LEGACY_SWITCHES: dict[str, Any] = {
    "global": {"rbac": {"pspEnabled": True, "create": True}},
    "rbac": {"pspEnabled": True},
    "grafana": {"rbac": {"pspEnabled": True}, "ingress": {"enabled": True}},
    "deployment": {"hpa": {"api_version": "autoscaling/v2beta2", "spec": {"maxReplicas": 2}}, "ingress_enabled": True,
                   "pod_disruption_budget": {"api_version": "policy/v1beta1", "spec": {"minAvailable": 1}}},
    "pilot": {"autoscaleEnabled": True},
    "autoscaleEnabled": True,
    "prometheus": {"ingress": {"enabled": True}},
}


def test_every_stand_in_is_packaged_under_its_real_name(standins: dict[str, Path]) -> None:
    assert sorted(standins) == sorted(CHARTS)
    assert all(path.is_file() for path in standins.values())


def test_packaging_is_byte_stable_and_leaves_unchanged_archives_alone(
    standins: dict[str, Path], helm_binary: Path, tmp_path: Path
) -> None:
    assert package(helm_binary, tmp_path).returncode == 0
    assert {p.name: p.read_bytes() for p in tmp_path.glob("*.tgz")} == {p.name: p.read_bytes() for p in standins.values()}
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.tgz")}
    assert package(helm_binary, tmp_path).returncode == 0
    assert {p: p.stat().st_mtime_ns for p in tmp_path.glob("*.tgz")} == mtimes


def test_packaging_without_helm_says_what_to_do_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "out")], capture_output=True, text=True, check=False,
                            env={**os.environ, "MESHCHARTS_HELM": str(tmp_path / "no-helm")})
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "install-helm" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_packaging_without_an_output_directory_prints_usage() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stderr.strip()) == (2, "usage: scripts/standin-charts OUT_DIR")


@pytest.mark.parametrize("chart", CHARTS)
def test_lints_strict(helm: Helm, standins: dict[str, Path], chart: str) -> None:
    result = helm.run("lint", "--strict", str(standins[chart]))
    assert result.returncode == 0, result.stdout + result.stderr


#: The one removed API a stand-in renders on purpose, as its real chart does: seed 000's PodSecurityPolicy.
SEED_000_PSP = "rancher-kiali-server-100.0.0+up1.35.0"


@pytest.mark.parametrize("chart", CHARTS)
def test_renders_with_defaults_and_never_a_removed_api(helm: Helm, standins: dict[str, Path], chart: str) -> None:
    for values in ({}, LEGACY_SWITCHES):
        docs = helm.template(standins[chart], "release", "istio-system", values)
        assert docs, chart
        if chart == SEED_000_PSP and values:
            psp = [doc for doc in docs if doc["kind"] == "PodSecurityPolicy"]
            assert [doc["apiVersion"] for doc in psp] == ["policy/v1beta1"]
            docs = [doc for doc in docs if doc not in psp]
        used = {doc["apiVersion"] for doc in docs}
        assert not used & REMOVED_APIS, (chart, sorted(used & REMOVED_APIS))
        assert "PodSecurityPolicy" not in {doc["kind"] for doc in docs}


@pytest.mark.parametrize("chart", [c for c in CHARTS if "crd" not in c])
def test_every_service_selects_pods_with_its_named_target_ports(helm: Helm, standins: dict[str, Path], chart: str) -> None:
    """On the sandbox a Service without matching Pods has no endpoints, and `verify` would fail."""
    docs = helm.template(standins[chart], "release", "istio-system", {})
    pods = pod_templates(docs)
    for name, service in services(docs).items():
        selector = service["selector"]
        chosen = [pod for pod in pods if selector.items() <= pod["labels"].items()]
        assert chosen, f"{chart}: Service {name} selects no Pod"
        named = {port.get("name") for pod in chosen for port in pod["ports"]}
        for port in service["ports"]:
            if isinstance(port["targetPort"], str):
                assert port["targetPort"] in named, f"{chart}: {name} targets a port no selected Pod has"


# --- the bundled example (meshcharts.yaml + values/ at the repo root) -----------------------------

class _Append(list):  # type: ignore[type-arg]
    """`!append [..]`: appended to the list of the layer below instead of replacing it."""


def _example_loader(variables: dict[str, Any]) -> type[yaml.SafeLoader]:
    """A YAML loader for the example's layers: !var from the cluster, !append, and !env as a placeholder."""

    class ExampleLoader(yaml.SafeLoader):
        pass

    def var(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
        return variables[str(loader.construct_scalar(node))]

    def append(loader: yaml.SafeLoader, node: yaml.SequenceNode) -> _Append:
        return _Append(loader.construct_sequence(node))

    def env(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
        return f"<env {loader.construct_scalar(node)}>"

    ExampleLoader.add_constructor("!var", var)
    ExampleLoader.add_constructor("!append", append)
    ExampleLoader.add_constructor("!env", env)
    return ExampleLoader


def _merge(below: Any, above: Any) -> Any:
    """Helm's merge: maps merge, lists and scalars replace, null deletes; !append appends."""
    if isinstance(above, _Append):
        return list(below or []) + list(above)
    if not (isinstance(below, dict) and isinstance(above, dict)):
        return above
    merged = dict(below)
    for key, value in above.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged


def _example_values(cluster: str, component: str) -> dict[str, Any]:
    stack = yaml.safe_load((REPO_ROOT / "meshcharts.yaml").read_text(encoding="utf-8"))
    settings = stack["clusters"][cluster]
    loader = _example_loader(settings.get("vars") or {})
    values: dict[str, Any] = {}
    for layer in (f"{component}.yaml", f"env/{settings.get('env')}/{component}.yaml", f"clusters/{cluster}/{component}.yaml"):
        path = REPO_ROOT / "values" / layer
        if path.is_file():
            values = _merge(values, yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {})
    return values


def _example_components() -> list[tuple[str, str, str, str, str]]:
    """(cluster, component, type, namespace, stand-in) for every example component whose chart is a stand-in."""
    stack = yaml.safe_load((REPO_ROOT / "meshcharts.yaml").read_text(encoding="utf-8"))
    found = []
    for cluster in stack["clusters"]:
        for name, component in stack["components"].items():
            chart = f"{component['type']}-{component.get('version')}"
            if chart in CHARTS:
                found.append((cluster, name, component["type"], component.get("namespace", "default"), chart))
    return found


def test_the_example_installs_only_stand_ins_besides_generated_charts() -> None:
    assert {chart for *_, chart in _example_components()} == {"rancher-kiali-server-100.0.0+up1.35.0", "rancher-tracing-100.0.0"}


@pytest.mark.parametrize(("cluster", "component", "release", "namespace", "chart"), _example_components())
def test_renders_the_example_values(
    helm: Helm, standins: dict[str, Path], cluster: str, component: str, release: str, namespace: str, chart: str
) -> None:
    values = _example_values(cluster, component)
    docs = helm.template(standins[chart], release, namespace, values)
    assert not {doc["apiVersion"] for doc in docs} & REMOVED_APIS
    registry = values["global"]["cattle"]["systemDefaultRegistry"]
    images = {container["image"] for pod in pod_templates(docs) for container in pod["containers"]}
    assert images and all(image.startswith(f"{registry}/") for image in images), images
    if component == "kiali":
        (config,) = [yaml.safe_load(d["data"]["config.yaml"]) for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "kiali"]
        assert config["deployment"]["accessible_namespaces"] == values["deployment"]["accessible_namespaces"]
        assert (config["auth"]["strategy"], config["server"]["web_root"], config["istio_namespace"]) == ("anonymous", "/kiali", "istio-system")
        (console,) = [d for d in docs if d["metadata"]["name"] == "kiali-console"]
        assert f"/k8s/clusters/{values['global']['cattle']['clusterId']}/" in console["data"]["env.js"]
    else:
        (claim,) = [d for d in docs if d["kind"] == "PersistentVolumeClaim"]
        assert claim["metadata"]["name"] == "istio-jaeger-pvc"
        assert claim["spec"]["storageClassName"] == values["jaeger"]["storageClassName"]
        assert claim["spec"]["resources"]["requests"]["storage"] == values["jaeger"]["persistentVolumeClaim"]["storage"]


def test_renders_what_meshcharts_render_composed(helm: Helm, standins: dict[str, Path], tmp_path: Path) -> None:
    """The values files `meshcharts render` writes (wiring included) are accepted by the stand-ins as by the real charts."""
    shutil.copy(REPO_ROOT / "meshcharts.yaml", tmp_path / "meshcharts.yaml")
    shutil.copytree(REPO_ROOT / "values", tmp_path / "values")
    result = subprocess.run([sys.executable, "-m", "meshcharts", "render", "-o", "json"], cwd=tmp_path,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    rendered = 0
    for releases in sorted((tmp_path / "charts-out").glob("*/releases.yaml")):
        for release in yaml.safe_load(releases.read_text(encoding="utf-8"))["releases"]:
            chart = f"{release['chart']}-{release['version']}"
            if chart not in standins:
                continue
            values = yaml.safe_load((releases.parent / release["values"]).read_text(encoding="utf-8")) or {}
            docs = helm.template(standins[chart], release["release"], release["namespace"], values)
            rendered += 1
            if release["chart"] == "rancher-kiali-server":
                (config,) = [yaml.safe_load(d["data"]["config.yaml"]) for d in docs
                             if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "kiali"]
                assert config["external_services"]["prometheus"] == values["external_services"]["prometheus"]
                assert config["external_services"]["tracing"]["use_grpc"] is False
    assert rendered == 6  # east and west: the CRD chart, Kiali and tracing


def test_kubernetes_version_constraints_are_the_real_ones(helm: Helm, standins: dict[str, Path]) -> None:
    """kube-prometheus-stack 88.x refuses clusters older than 1.25, as the real chart does."""
    old = helm.run("template", "x", str(standins["kube-prometheus-stack-88.5.3"]), "--kube-version", "1.24.0")
    assert old.returncode != 0 and "kubeVersion" in old.stderr
    assert helm.template(standins["kube-prometheus-stack-45.1.1"], "x", "m", {}, kube_version="1.24.0")

