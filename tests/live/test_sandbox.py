"""The sandbox behaves like the clusters the stack is meant for: real API servers on loopback only,
pods that go Ready under ``helm --wait``, claims that bind, seeded CRDs, and a clean ``down``."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes import config as kube_config

from meshcharts.sandbox import ClusterState, Sandbox, SandboxCluster, procs, seed
from tests.live.conftest import CRD_GROUP, CRD_NAME, FIXTURES, LiveClusters

pytestmark = pytest.mark.live

PROBE_CHART = FIXTURES / "charts" / "sandbox-probe"


@pytest.fixture(params=[0, 1], ids=["first-context", "second-context"])
def api(request: pytest.FixtureRequest, live_clusters: LiveClusters) -> Iterator[tuple[str, client.ApiClient]]:
    """A Kubernetes client on each of the two contexts in turn."""
    context = live_clusters.contexts[request.param]
    api_client = seed.api_client(live_clusters.kubeconfig, context)
    yield context, api_client
    api_client.close()


def _wait(predicate: Callable[[], bool], timeout: float = 60.0, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


def _namespace(api_client: client.ApiClient, name: str) -> str:
    core = client.CoreV1Api(api_client)
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    return name


def test_both_contexts_answer_with_the_stamped_version(live_clusters: LiveClusters) -> None:
    versions = {}
    for context in live_clusters.contexts:
        api_client = seed.api_client(live_clusters.kubeconfig, context)
        versions[context] = seed.server_version(api_client)
        api_client.close()
    if live_clusters.sandbox is None:
        assert all(versions.values()), versions
    else:
        # Unstamped binaries say v0.0.0-master, and charts with kubeVersion: refuse them.
        assert versions == {context: "v1.37.2" for context in live_clusters.contexts}


def test_kubeconfig_contexts_are_named_as_the_stack_names_them(live_clusters: LiveClusters) -> None:
    sandbox = live_clusters.require_sandbox()
    contexts, _ = kube_config.list_kube_config_contexts(str(sandbox.kubeconfig_path))
    assert [c["name"] for c in contexts] == ["sandbox-east", "west"]
    assert sandbox.kubeconfig_path.stat().st_mode & 0o077 == 0, "the kubeconfig holds a client key: 0600"


def test_helm_3_10_installs_a_chart_with_wait_and_its_deployment_goes_ready(
    api: tuple[str, client.ApiClient], live_clusters: LiveClusters, helm_3_10: Path, helm_home: dict[str, str]
) -> None:
    context, api_client = api
    namespace = _namespace(api_client, "sandbox-probe")
    result = subprocess.run(
        [
            str(helm_3_10), "upgrade", "--install", "probe", str(PROBE_CHART),
            "--kubeconfig", str(live_clusters.kubeconfig), "--kube-context", context,
            "--namespace", namespace, "--wait", "--timeout", "180s",
        ],
        env={**os.environ, **helm_home, "KUBECACHEDIR": str(Path(helm_home["HELM_CACHE_HOME"]) / "kube")}, capture_output=True, text=True, timeout=240, check=False,
    )
    assert result.returncode == 0, result.stderr
    deployment = client.AppsV1Api(api_client).read_namespaced_deployment("probe", namespace)
    assert deployment.status.ready_replicas == 2
    claim = client.CoreV1Api(api_client).read_namespaced_persistent_volume_claim("probe-data", namespace)
    assert claim.status.phase == "Bound"


def _claim(api_client: client.ApiClient, namespace: str, name: str, storage_class: str | None) -> None:
    client.CoreV1Api(api_client).create_namespaced_persistent_volume_claim(
        namespace,
        client.V1PersistentVolumeClaim(
            metadata=client.V1ObjectMeta(name=name),
            spec=client.V1PersistentVolumeClaimSpec(
                access_modes=["ReadWriteOnce"],
                storage_class_name=storage_class,
                resources=client.V1VolumeResourceRequirements(requests={"storage": "2Gi"}),
            ),
        ),
    )


def _phase(api_client: client.ApiClient, namespace: str, name: str) -> str:
    return str(client.CoreV1Api(api_client).read_namespaced_persistent_volume_claim(name, namespace).status.phase)


def test_claims_of_the_offered_classes_bind_and_others_do_not(api: tuple[str, client.ApiClient], live_clusters: LiveClusters) -> None:
    live_clusters.require_sandbox()
    _, api_client = api
    namespace = _namespace(api_client, "sandbox-claims")
    _claim(api_client, namespace, "default-class", None)
    _claim(api_client, namespace, "named-class", "sata")
    _claim(api_client, namespace, "unknown-class", "no-such-class")
    assert _wait(lambda: _phase(api_client, namespace, "default-class") == "Bound")
    assert _wait(lambda: _phase(api_client, namespace, "named-class") == "Bound")
    claim = client.CoreV1Api(api_client).read_namespaced_persistent_volume_claim("default-class", namespace)
    assert claim.spec.storage_class_name == "standard"
    volume = client.CoreV1Api(api_client).read_persistent_volume(claim.spec.volume_name)
    assert volume.spec.capacity == {"storage": "2Gi"} and volume.status.phase == "Bound"
    assert _phase(api_client, namespace, "unknown-class") == "Pending"
    # Deleting the claim releases and removes its volume, as a dynamic provisioner would.
    client.CoreV1Api(api_client).delete_namespaced_persistent_volume_claim("default-class", namespace)
    def volume_gone() -> bool:
        return claim.spec.volume_name not in {pv.metadata.name for pv in client.CoreV1Api(api_client).list_persistent_volume().items}

    assert _wait(volume_gone)


def test_seeded_crds_are_established(api: tuple[str, client.ApiClient], live_clusters: LiveClusters) -> None:
    live_clusters.require_sandbox()
    _, api_client = api
    assert seed.crd_established(client.ApiextensionsV1Api(api_client), CRD_NAME)


def test_nothing_the_sandbox_starts_listens_beyond_loopback(live_clusters: LiveClusters) -> None:
    sandbox = live_clusters.require_sandbox()
    pids = sandbox.processes()
    # etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok per cluster.
    assert len(pids) == 10
    listening = procs.listeners(pids)
    assert listening, "the API servers must be listening"
    assert [str(item) for item in listening if not item.loopback] == []
    for status in sandbox.status():
        assert status.server and status.server.startswith("https://127.0.0.1:")
        assert int(status.server.rsplit(":", 1)[1]) in {item.port for item in status.listeners}


@pytest.fixture()
def lone_sandbox(tmp_path: Path, live_clusters: LiveClusters) -> Iterator[Sandbox]:
    """A one-cluster sandbox of its own, for the tests that kill and delete things."""
    live_clusters.require_sandbox()
    sandbox = Sandbox(tmp_path / "sandbox", [SandboxCluster("solo", crd_groups=(CRD_GROUP,))], nodes=1, crd_dirs=(FIXTURES / "cluster-crds",))
    sandbox.up(lambda line: None)
    try:
        yield sandbox
    finally:
        sandbox.down()


def test_status_reports_a_killed_cluster_and_up_restarts_it(lone_sandbox: Sandbox) -> None:
    (before,) = lone_sandbox.status()
    assert before.state is ClusterState.RUNNING
    apiserver = next(c for c in before.components if c.name == "kube-apiserver")
    assert apiserver.pid is not None
    os.kill(apiserver.pid, signal.SIGKILL)
    assert _wait(lambda: lone_sandbox.status()[0].state is ClusterState.DEGRADED, timeout=10)
    assert lone_sandbox.status()[0].dead == ["kube-apiserver"]
    lone_sandbox.up(lambda line: None)
    (after,) = lone_sandbox.status()
    assert after.state is ClusterState.RUNNING
    # Everything dead (a reboot, an OOM killer): stopped, and up starts it all again.
    for pid in lone_sandbox.processes():
        os.kill(pid, signal.SIGKILL)
    assert _wait(lambda: lone_sandbox.status()[0].state is ClusterState.STOPPED, timeout=10)
    lone_sandbox.up(lambda line: None)
    assert lone_sandbox.status()[0].state is ClusterState.RUNNING
    api_client = seed.api_client(lone_sandbox.kubeconfig_path, "solo")
    assert seed.server_version(api_client) == "v1.37.2"
    api_client.close()


def test_up_twice_reuses_the_running_cluster(lone_sandbox: Sandbox) -> None:
    pids = lone_sandbox.processes()
    lines: list[str] = []
    lone_sandbox.up(lines.append)
    assert lone_sandbox.processes() == pids
    assert "sandbox solo: already running" in lines
    assert f"sandbox solo: seeded 1 CRD(s) of {CRD_GROUP}" in lines


def test_down_leaves_no_process_and_no_listener(lone_sandbox: Sandbox) -> None:
    pids = lone_sandbox.processes()
    ports = {item.port for item in procs.listeners(pids)}
    assert pids and ports
    lone_sandbox.down()
    assert [pid for pid in pids if not procs.is_gone(pid)] == []
    # A port freed here may be taken by another process on a shared machine, never by one of ours.
    workdir = str(lone_sandbox.workdir)
    assert [str(item) for item in procs.listeners_on(ports) if os.path.realpath(f"/proc/{item.pid}/cwd").startswith(workdir)] == []
    assert lone_sandbox.status()[0].state is ClusterState.ABSENT
    assert not lone_sandbox.kubeconfig_path.exists()
    lone_sandbox.down()  # down on nothing is fine
