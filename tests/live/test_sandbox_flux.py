"""``sandbox up --gitops flux``: Flux's real source-controller and helm-controller reconcile on a
sandbox cluster, and install a chart from the sandbox's loopback chart repository.

One sandbox of the module's own (one cluster) with Flux, started, inspected and taken down through the
real CLI (``python -m meshcharts.cli.sandbox``, the stack-free group), shared by the tests below; the
last test takes it down. The controllers are built once per machine (cached by version, as
scripts/test does before pytest), so the module costs a cluster start plus one reconcile.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, dynamic

from meshcharts.sandbox import ClusterState, Sandbox, SandboxCluster, procs, seed
from tests.live.conftest import LIVE_HELM, LiveClusters, helm_for

pytestmark = [pytest.mark.live, pytest.mark.gitops]

CHART = "rancher-tracing"
VERSION = "100.0.0"
NAMESPACE = "tracing"
#: Values that differ from the chart's defaults, so the release shows they were given.
VALUES = {"provider": "jaeger-solo", "jaeger": {"spanStorageType": "memory"}}
FIELD_MANAGER = "meshcharts-tests"


def _wait(predicate: Callable[[], bool], timeout: float, interval: float = 1.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def _cli(workdir: Path, charts: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m meshcharts.cli.sandbox`` on the module's sandbox (progress goes to the test's output)."""
    argv = [sys.executable, "-m", "meshcharts.cli.sandbox", "--workdir", str(workdir), "--cluster", "solo", "--charts", str(charts), *args]
    env = {**os.environ, "MESHCHARTS_HELM": str(helm_for(LIVE_HELM))}
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800, check=False)
    print(result.stderr, flush=True)
    return result


@pytest.fixture(scope="module")
def charts(standin_charts: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the one chart the repository serves (the stand-alone CLI serves every .tgz of it)."""
    folder = tmp_path_factory.mktemp("flux-charts")
    archive = standin_charts / f"{CHART}-{VERSION}.tgz"
    (folder / archive.name).write_bytes(archive.read_bytes())
    return folder


@pytest.fixture(scope="module")
def flux_sandbox(tmp_path_factory: pytest.TempPathFactory, live_clusters: LiveClusters, charts: Path) -> Iterator[Sandbox]:
    live_clusters.require_sandbox()
    workdir = tmp_path_factory.mktemp("flux") / "sandbox"
    sandbox = Sandbox(workdir, [SandboxCluster("solo")])
    try:
        up = _cli(workdir, charts, "up", "--gitops", "flux", "--output", "json")
        assert up.returncode == 0, up.stdout + up.stderr
        document = json.loads(up.stdout)
        assert document["gitops"]["chartRepository"]["url"] == _repository_url(sandbox)
        yield sandbox
    finally:
        sandbox.down()


def _repository_url(sandbox: Sandbox) -> str:
    gitops = sandbox.gitops_status()
    assert gitops is not None and gitops.repository is not None and gitops.repository.url
    return gitops.repository.url


def test_status_shows_the_controllers_and_the_chart_repository(flux_sandbox: Sandbox, charts: Path) -> None:
    text = _cli(flux_sandbox.workdir, charts, "status")
    assert text.returncode == 0, text.stdout
    url = _repository_url(flux_sandbox)
    assert f"chart repository: {url} (pid " in text.stdout
    assert "  flux: source-controller pid " in text.stdout and ", helm-controller pid " in text.stdout
    (status,) = flux_sandbox.status()
    assert status.state is ClusterState.RUNNING
    names = [c.name for c in status.components]
    assert names == ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller", "source-controller", "helm-controller"]
    controllers = {c.name: c for c in status.components[-2:]}
    assert all(c.running and c.pid for c in controllers.values())
    gitops = flux_sandbox.gitops_status()
    assert gitops is not None and gitops.running and gitops.repository is not None
    assert gitops.repository.charts == (f"{CHART}-{VERSION}.tgz",)
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(f"{url}/index.yaml", timeout=10) as response:
        index = yaml.safe_load(response.read())
    (entry,) = index["entries"][CHART]
    assert entry["version"] == VERSION and entry["urls"] == [f"{url}/{CHART}-{VERSION}.tgz"]


def test_nothing_the_flux_sandbox_starts_listens_beyond_loopback(flux_sandbox: Sandbox) -> None:
    pids = flux_sandbox.processes()
    # 5 control plane processes, 2 controllers, 1 chart repository server.
    assert len(pids) == 8
    listening = procs.listeners(pids)
    assert [str(item) for item in listening if not item.loopback] == []
    listening_pids = {item.pid for item in listening}
    assert set(flux_sandbox.flux.processes()) <= listening_pids


def _apply(api: dynamic.DynamicClient, document: dict[str, Any]) -> None:
    resource = api.resources.get(api_version=document["apiVersion"], kind=document["kind"])
    api.server_side_apply(resource, body=document, namespace=document["metadata"].get("namespace"), field_manager=FIELD_MANAGER)


def _ready(api: dynamic.DynamicClient, name: str) -> tuple[bool, str]:
    resource = api.resources.get(api_version="helm.toolkit.fluxcd.io/v2", kind="HelmRelease")
    live = resource.get(name=name, namespace="flux-system").to_dict()
    conditions = (live.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c["type"] == "Ready"), None)
    return bool(ready and ready["status"] == "True"), json.dumps(conditions)


def test_a_helmrelease_from_the_loopback_repository_is_installed_with_its_values(flux_sandbox: Sandbox) -> None:
    url = _repository_url(flux_sandbox)
    api_client = seed.api_client(flux_sandbox.kubeconfig_path, "solo")
    try:
        seed.ensure_namespace(api_client, NAMESPACE)
        api = dynamic.DynamicClient(api_client)
        _apply(api, {
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
            "metadata": {"name": "sandbox-charts", "namespace": "flux-system"},
            "spec": {"url": url, "interval": "1m"},
        })
        _apply(api, {
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "solo-tracing", "namespace": "flux-system"},
            "spec": {
                "interval": "5m",
                "releaseName": "tracing",
                "targetNamespace": NAMESPACE,
                "storageNamespace": NAMESPACE,
                "chart": {"spec": {"chart": CHART, "version": VERSION, "sourceRef": {"kind": "HelmRepository", "name": "sandbox-charts"}}},
                "values": VALUES,
            },
        })
        last: list[str] = []

        def ready() -> bool:
            done, conditions = _ready(api, "solo-tracing")
            last[:] = [conditions]
            return done

        assert _wait(ready, timeout=300), f"HelmRelease not Ready: {last}"
        deployments = client.AppsV1Api(api_client).list_namespaced_deployment(NAMESPACE).items
        assert deployments, "the chart's Deployment was created by helm-controller"
    finally:
        api_client.close()
    helm = helm_for(LIVE_HELM)
    result = subprocess.run(
        [str(helm), "get", "values", "tracing", "--namespace", NAMESPACE, "--output", "json",
         "--kubeconfig", str(flux_sandbox.kubeconfig_path), "--kube-context", "solo"],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "HELM_CACHE_HOME": str(flux_sandbox.workdir / "helm-cache"), "HELM_CONFIG_HOME": str(flux_sandbox.workdir / "helm-config")},
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == VALUES


def test_down_stops_the_controllers_and_the_chart_repository(flux_sandbox: Sandbox, charts: Path) -> None:
    pids = flux_sandbox.processes()
    flux_pids = set(flux_sandbox.flux.processes())
    assert len(flux_pids) == 3
    down = _cli(flux_sandbox.workdir, charts, "down", "--output", "json")
    assert (down.returncode, json.loads(down.stdout)) == (0, {"down": True, "running": []})
    # The CLI's process has exited: its detached children are reaped by init, not by us.
    assert _wait(lambda: all(procs.is_gone(pid) for pid in pids), timeout=10), [pid for pid in pids if not procs.is_gone(pid)]
    assert flux_sandbox.processes() == {}
    assert flux_sandbox.gitops_status() is None
    assert not flux_sandbox.flux.root.exists()
