"""``meshcharts sandbox up`` provides the CRD groups a stack's ``crds:`` names, or refuses naming the one
it cannot: the ``existing-monitoring`` preset (seed 004: Kiali exposed through an Istio Gateway) says
its cluster has ``crds: [networking.istio.io]``, and its mesh-extras release creates a Gateway and a
VirtualService at ``networking.istio.io/v1beta1``. Driven through the real CLI, in a new process, on a
sandbox of the stack's own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, dynamic

from meshcharts.sandbox import seed
from tests.conftest import REPO_ROOT
from tests.live.conftest import LIVE_HELM, LiveClusters, helm_for

pytestmark = pytest.mark.live

ADDONS = REPO_ROOT / "tests" / "fixtures" / "addons" / "istio-1.99.0"
ISTIO = "networking.istio.io"
CLUSTER = "homelab"  # the preset's one cluster; its kube-context has its name


@dataclass(frozen=True)
class PresetSandbox:
    root: Path
    env: dict[str, str]
    refused: subprocess.CompletedProcess[str]  # `sandbox up` while crds: also named an unknown group
    up: subprocess.CompletedProcess[str]

    @property
    def kubeconfig(self) -> Path:
        return self.root / ".meshcharts" / "sandbox" / "kubeconfig"


def _meshcharts(root: Path, env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "meshcharts", *args], cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def preset(tmp_path_factory: pytest.TempPathFactory, live_clusters: LiveClusters, helm_home: dict[str, str]) -> Iterator[PresetSandbox]:
    """The existing-monitoring preset and its sandbox: first refused with an unknown group added, then up."""
    live_clusters.require_sandbox()
    folder = tmp_path_factory.mktemp("preset-crds")
    # The user's cache as it is: that is where the sandbox binaries were built.
    env = {**os.environ, **helm_home, "COLUMNS": "200"}
    made = _meshcharts(folder, env, "init", "stack", "--preset", "existing-monitoring", "--addons-source", str(ADDONS))
    assert made.returncode == 0, made.stderr
    root = folder / "stack"
    stack_file = root / "meshcharts.yaml"
    original = stack_file.read_text(encoding="utf-8")
    assert f"    crds: [{ISTIO}]" in original
    stack_file.write_text(original.replace(f"crds: [{ISTIO}]", f"crds: [{ISTIO}, nosuch.example.com]"), encoding="utf-8")
    refused = _meshcharts(root, env, "sandbox", "up", "--output", "json")
    stack_file.write_text(original, encoding="utf-8")
    up = _meshcharts(root, env, "sandbox", "up", "--output", "json")
    try:
        yield PresetSandbox(root, env, refused, up)
    finally:
        down = _meshcharts(root, env, "sandbox", "down")
        assert down.returncode == 0, down.stderr


def test_an_unknown_group_is_refused_at_sandbox_up_before_anything_starts(preset: PresetSandbox) -> None:
    refused = preset.refused
    assert refused.returncode == 2, refused.stderr
    (error,) = json.loads(refused.stdout)["errors"]
    assert (error["file"], error["line"], error["column"], error["cluster"]) == ("meshcharts.yaml", 8, 33, CLUSTER)
    assert error["rule"] == "sandbox.crds-unavailable" and "nosuch.example.com" in error["message"]
    assert refused.stderr == ""


def test_up_provides_the_istio_group_the_stack_names(preset: PresetSandbox) -> None:
    up = preset.up
    assert up.returncode == 0, up.stderr
    document = json.loads(up.stdout)  # exactly one JSON document on stdout, progress on stderr
    assert document["crds"] == {CLUSTER: [ISTIO]}
    assert [(c["cluster"], c["state"]) for c in document["clusters"]] == [(CLUSTER, "running")]
    assert f"sandbox {CLUSTER}: seeded 9 CRD(s) of {ISTIO}" in up.stderr


@pytest.fixture()
def api(preset: PresetSandbox) -> Iterator[client.ApiClient]:
    if preset.up.returncode != 0:
        pytest.fail(f"sandbox up failed: {preset.up.stderr}", pytrace=False)
    api_client = seed.api_client(preset.kubeconfig, CLUSTER)
    yield api_client
    api_client.close()


def test_discovery_serves_gateway_at_v1_and_v1beta1(api: client.ApiClient) -> None:
    groups = {group.name: group for group in client.ApisApi(api).get_api_versions().groups}
    assert {version.version for version in groups[ISTIO].versions} == {"v1", "v1beta1", "v1alpha3"}
    assert groups[ISTIO].preferred_version.version == "v1"
    resources = dynamic.DynamicClient(api).resources
    for version in ("v1", "v1beta1"):
        gateway = resources.get(api_version=f"{ISTIO}/{version}", kind="Gateway")
        assert (gateway.name, gateway.namespaced) == ("gateways", True)
        assert resources.get(api_version=f"{ISTIO}/{version}", kind="VirtualService").name == "virtualservices"


def test_a_gateway_created_at_v1beta1_reads_back_at_v1(api: client.ApiClient) -> None:
    """What mesh-extras does with its default apiVersion, and what failed with "no matches for kind"."""
    objects = client.CustomObjectsApi(api)
    body: dict[str, Any] = {
        "apiVersion": f"{ISTIO}/v1beta1",
        "kind": "Gateway",
        "metadata": {"name": "kiali", "namespace": "default"},
        "spec": {"selector": {"istio": "ingressgateway"}, "servers": [{"hosts": ["kiali.example"], "port": {"number": 80, "name": "http-kiali", "protocol": "HTTP"}}]},
    }
    objects.create_namespaced_custom_object(ISTIO, "v1beta1", "default", "gateways", body)
    read = objects.get_namespaced_custom_object(ISTIO, "v1", "default", "gateways", "kiali")
    assert read["apiVersion"] == f"{ISTIO}/v1" and read["spec"]["servers"][0]["hosts"] == ["kiali.example"]


def test_the_preset_applies_on_its_sandbox(api: client.ApiClient, preset: PresetSandbox) -> None:
    """The whole preset, mesh-extras' Gateway and VirtualService included, as a user would apply it.

    The preset's Prometheus and Grafana run outside the stack in namespaces ``monitoring`` and
    ``grafana`` (their URLs say so), where mesh-extras puts the scrape jobs and dashboards: on the real
    cluster those namespaces exist, so they are made here as their installs would have.
    """
    for namespace in ("monitoring", "grafana"):
        client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    env = {
        **preset.env,
        "KUBECONFIG": str(preset.kubeconfig),
        "MESHCHARTS_HELM": str(helm_for(LIVE_HELM)),
        "MESHCHARTS_CACHE": str(preset.root.parent / "cache"),
    }
    applied = _meshcharts(preset.root, env, "apply", "--yes")
    assert applied.returncode == 0, f"{applied.stdout}\n{applied.stderr}"
    objects = client.CustomObjectsApi(api)
    for plural in ("gateways", "virtualservices"):
        (item,) = objects.list_namespaced_custom_object(ISTIO, "v1beta1", "istio-system", plural)["items"]
        assert item["metadata"]["name"] == "kiali", plural
