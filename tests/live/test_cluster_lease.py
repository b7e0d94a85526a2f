"""The cluster lease against a real API server: one apply per stack and cluster, whatever ledger it uses.

Two checkouts of one stack each have their own SQLite ledger, so only the cluster can tell them
apart: the second apply waits for the first, or refuses naming it. Underneath, the lease itself: of
several takers at once exactly one wins, a held lease is renewed past its duration, and one left by
a killed process is taken over once it has expired.
"""

from __future__ import annotations

import re
import secrets
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from meshcharts.core.diagnostics import MeshchartsError
from meshcharts.deploy.lease import NAMESPACE, ClusterLease, ClusterLocked
from meshcharts.deploy.lease_record import LeaseRecord, lease_name
from meshcharts.deploy.live import api_client
from meshcharts.kube import KubeClient
from meshcharts.sandbox import seed
from tests.conftest import REPO_ROOT
from tests.live.conftest import LIVE_HELM, LiveClusters, helm_for
from tests.live.example import RELEASES, ExampleStack, example, hang_tracing_on_east, wait_for

pytestmark = pytest.mark.live
__all__ = ["example"]  # the fixture


@pytest.fixture()
def east(live_clusters: LiveClusters) -> Iterator[KubeClient]:
    """meshcharts' own client of the first cluster, as apply opens it."""
    api = api_client(str(live_clusters.kubeconfig), live_clusters.contexts[0], "east")
    yield api
    api.close()


@pytest.fixture()
def admin(live_clusters: LiveClusters) -> Iterator[client.ApiClient]:
    """The test's side of the first cluster: the kubernetes package's typed client (not meshcharts' code)."""
    api = seed.api_client(live_clusters.kubeconfig, live_clusters.contexts[0])
    yield api
    api.close()


@pytest.fixture()
def stack_name(admin: client.ApiClient) -> Iterator[str]:
    """A stack name of this test's own, its lease removed afterwards whatever the test left."""
    name = f"lease-test-{secrets.token_hex(4)}"
    yield name
    try:
        client.CoordinationV1Api(admin).delete_namespaced_lease(lease_name(name), NAMESPACE)
    except ApiException as exc:
        assert exc.status == 404


def _read(api: client.ApiClient, stack: str) -> LeaseRecord | None:
    """The stack's lease on the cluster as meshcharts reads it, or None when there is none."""
    try:
        lease = client.CoordinationV1Api(api).read_namespaced_lease(lease_name(stack), NAMESPACE)
        return LeaseRecord.of(api.sanitize_for_serialization(lease))
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def _renewed_for(record: LeaseRecord) -> timedelta:
    """How long after taking it the holder last renewed the lease."""
    assert record.renewed is not None and record.acquired is not None
    return record.renewed - record.acquired


def _expired_lease(api: client.ApiClient, stack: str) -> None:
    """A lease whose holder stopped renewing an hour ago, as a crashed apply leaves it."""
    then = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body: Any = {
        "metadata": {"name": lease_name(stack), "namespace": NAMESPACE},
        "spec": {"holderIdentity": "gone@nowhere pid 1, run 9", "acquireTime": then, "renewTime": then, "leaseDurationSeconds": 30},
    }
    client.CoordinationV1Api(api).create_namespaced_lease(NAMESPACE, body)


@pytest.mark.parametrize("start", ["no-lease-yet", "an-expired-lease"])
def test_of_takers_at_once_exactly_one_wins(live_clusters: LiveClusters, east: KubeClient, admin: client.ApiClient, stack_name: str, start: str) -> None:
    """Six takers, each with its own connection, released together: one create, or one update, succeeds."""
    if start == "an-expired-lease":
        _expired_lease(admin, stack_name)
    takers = 6
    gate = threading.Barrier(takers)
    won: list[ClusterLease] = []
    refused: list[ClusterLocked] = []
    guard = threading.Lock()
    apis = [api_client(str(live_clusters.kubeconfig), live_clusters.contexts[0], "east") for _ in range(takers)]

    def take(number: int) -> None:
        lease = ClusterLease(apis[number], stack_name, "east", f"taker {number}", timeout=0)
        gate.wait()
        try:
            lease.acquire()
        except ClusterLocked as exc:
            with guard:
                refused.append(exc)
            return
        with guard:
            won.append(lease)

    threads = [threading.Thread(target=take, args=(number,)) for number in range(takers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(won) == 1 and len(refused) == takers - 1, (won, refused)
        (winner,) = won
        live = _read(admin, stack_name)
        assert live is not None and live.holder == winner.holder
        assert live.transitions == (1 if start == "an-expired-lease" else 0)
        for error in refused:
            (diagnostic,) = error.diagnostics
            assert diagnostic.rule == "apply.cluster-locked"
            assert diagnostic.message.startswith(
                f"stack {stack_name}, cluster east: another apply holds the cluster lease {NAMESPACE}/{lease_name(stack_name)}: {winner.holder} (since "
            ), diagnostic.message
        winner.release()
        assert _read(admin, stack_name) is None  # released: deleted, so the next apply takes it at once
    finally:
        for api in apis:
            api.close()


def test_a_held_lease_is_renewed_past_its_duration_and_not_taken(east: KubeClient, admin: client.ApiClient, stack_name: str) -> None:
    with ClusterLease(east, stack_name, "east", "first holder", timeout=0, duration=3) as held:

        def renewed_past_duration() -> bool:
            live = _read(admin, stack_name)
            return live is not None and _renewed_for(live) > timedelta(seconds=4)

        wait_for(renewed_past_duration, "the holder to renew its 3s lease past 4s", timeout=30, interval=0.2)
        with pytest.raises(ClusterLocked, match=r"another apply holds the cluster lease .*: first holder \(since "):
            ClusterLease(east, stack_name, "east", "second", timeout=0).acquire()
        assert not held.lost.is_set()
    assert _read(admin, stack_name) is None


def test_a_lease_taken_by_someone_else_while_held_is_reported_lost_and_left_alone(east: KubeClient, admin: client.ApiClient, stack_name: str) -> None:
    lost: list[str] = []
    coordination = client.CoordinationV1Api(admin)
    with ClusterLease(east, stack_name, "east", "first", timeout=0, duration=3, on_lost=lost.append) as first:
        lease = coordination.read_namespaced_lease(lease_name(stack_name), NAMESPACE)
        assert lease.spec is not None
        lease.spec.holder_identity = "someone else"  # as another apply taking it over would
        coordination.replace_namespaced_lease(lease_name(stack_name), NAMESPACE, lease)
        wait_for(first.lost.is_set, "the holder to notice at its next renewal", timeout=30, interval=0.2)
        (message,) = lost
        assert message.startswith(f"lost the cluster lease {NAMESPACE}/{lease_name(stack_name)}: it is now held by someone else (since "), message
    live = _read(admin, stack_name)
    assert live is not None and live.holder == "someone else"  # the first's exit did not delete it


def test_a_lease_deleted_by_hand_while_its_holder_lives_is_written_again_by_the_next_renewal(east: KubeClient, admin: client.ApiClient, stack_name: str) -> None:
    with ClusterLease(east, stack_name, "east", "first", timeout=0, duration=3) as first:
        client.CoordinationV1Api(admin).delete_namespaced_lease(lease_name(stack_name), NAMESPACE)
        wait_for(lambda: (live := _read(admin, stack_name)) is not None and live.holder == "first", "the next renewal to write it again")
        assert not first.lost.is_set()
    assert _read(admin, stack_name) is None


def test_a_wait_ends_when_the_apply_is_interrupted(east: KubeClient, admin: client.ApiClient, stack_name: str) -> None:
    cancel = threading.Event()
    waits: list[str] = []

    def interrupt(holder: str) -> None:  # as a Ctrl-C while waiting does
        waits.append(holder)
        cancel.set()

    with ClusterLease(east, stack_name, "east", "holder", timeout=0):
        waiting = ClusterLease(east, stack_name, "east", "waiter", timeout=600, cancel=cancel, on_wait=interrupt)
        with pytest.raises(ClusterLocked, match="interrupted while waiting for the cluster lease"):
            waiting.acquire()
    assert waits and waits[0].startswith("holder (since ")


def test_a_lease_left_by_a_killed_process_is_taken_over_once_it_expires(live_clusters: LiveClusters, east: KubeClient, admin: client.ApiClient, stack_name: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.lease_child", str(live_clusters.kubeconfig), live_clusters.contexts[0], stack_name, "3"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout is not None and child.stderr is not None
        line = child.stdout.readline().strip()
        assert line.startswith("held "), f"{line}\n{child.stderr.read() if child.poll() is not None else ''}"
        holder = line.removeprefix("held ")
        assert f" pid {child.pid}, run 0 of ledger tests.lease_child" in holder

        def renewed_twice() -> bool:
            live = _read(admin, stack_name)
            return live is not None and _renewed_for(live) > timedelta(seconds=4)

        wait_for(renewed_twice, "the child to renew its 3s lease past 4s", timeout=30, interval=0.2)
        with pytest.raises(ClusterLocked, match=f"pid {child.pid}"):  # alive and renewing: not taken
            ClusterLease(east, stack_name, "east", "taker", timeout=0).acquire()
    finally:
        child.kill()  # SIGKILL: it never releases the lease
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
        if child.stderr is not None:
            child.stderr.close()
    assert _read(admin, stack_name) is not None  # left behind
    waited: list[str] = []
    with ClusterLease(east, stack_name, "east", "taker", timeout=60, on_wait=waited.append):
        live = _read(admin, stack_name)
        assert live is not None and live.holder == "taker" and live.transitions == 1
    assert all(item.startswith(f"{holder} (since ") for item in waited), waited


def test_two_checkouts_of_a_stack_with_two_ledgers_take_turns_on_a_cluster(
    example: ExampleStack, tmp_path: Path, live_clusters: LiveClusters, standin_charts: Path, helm_home: dict[str, str]
) -> None:
    """The first checkout's apply holds east (its Jaeger waits for a node that never comes); the second's,
    with a ledger of its own, refuses naming it, or waits and then applies once the first is done (the
    first is stopped with SIGTERM, as a cancelled CI job is, once the second says it waits)."""
    hang_tracing_on_east(example)
    first = example.start("apply", "--yes", "--cluster", "east", "--timeout", "5m", name="first")
    second = ExampleStack(tmp_path / "second", live_clusters, standin_charts, helm_for(LIVE_HELM), helm_home)
    second.pull()
    api = seed.api_client(live_clusters.kubeconfig, live_clusters.contexts[0])
    try:
        wait_for(
            lambda: (lease := _read(api, "mesh-observability")) is not None and f"pid {first.process.pid}," in lease.holder,
            "the first apply to take east's lease",
        )
    finally:
        api.close()

    refused = second.apply("--cluster", "east", "--lock-timeout", "1")
    assert refused.returncode == 1, refused
    (line,) = [line for line in refused.stdout.splitlines() if line.startswith("east:")]
    assert line.startswith(
        "east: not applied (4 releases skipped): stack mesh-observability, cluster east: another apply holds the cluster lease "
        "kube-system/meshcharts-mesh-observability: "
    ), refused
    assert f" pid {first.process.pid}, run 1 of ledger {example.ledger_path} (since " in line and line.endswith("; waited 1s"), line
    assert "upgrade" not in refused.verbs(), refused.helm_calls  # nothing changed on a cluster another apply holds

    waiting = second.start("apply", "--yes", "--cluster", "east", "--lock-timeout", "300", name="waiting")
    wait_for(lambda: "east: waiting for the cluster lease held by " in waiting.stderr, "the second apply to say what it waits for")
    assert first.process.poll() is None, first.stdout + first.stderr  # still holding east: the second really waited
    first.process.send_signal(signal.SIGTERM)
    assert first.wait(timeout=300) == 130, first.stdout + first.stderr
    assert waiting.wait(timeout=300) == 0, waiting.stdout + waiting.stderr
    assert "east: ok (" in waiting.stdout
    assert {item["status"] for item in example.releases("east").values()} == {"deployed"}
    assert sorted(example.releases("east")) == sorted(RELEASES)
    # Not side by side: every release of the second began after the first's last release had ended.
    ended = [row["ended_at"] for row in example.ledger("SELECT ended_at FROM meshcharts_releases WHERE run_id = 1")]
    started = [row["started_at"] for row in second.ledger("SELECT started_at FROM meshcharts_releases WHERE run_id = 2")]
    assert ended and started, (ended, started)
    assert min(datetime.fromisoformat(item) for item in started) >= max(datetime.fromisoformat(item) for item in ended)


def _documented_role() -> Any:
    """The Role docs/security.md gives for the lease (the YAML block holding ``kind: Role``)."""
    text = (REPO_ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    (block,) = [block for block in re.findall(r"```yaml\n(.*?)```", text, re.S) if "kind: Role" in block]
    return yaml.safe_load(block)


def _impersonating(live: LiveClusters, folder: Path, users: dict[str, str]) -> Path:
    """The live kubeconfig plus, per entry, a context of that name on the first cluster whose user
    impersonates the given user name (``as:``, as kubectl's --as)."""
    config = yaml.safe_load(live.kubeconfig.read_text(encoding="utf-8"))
    (context,) = [item["context"] for item in config["contexts"] if item["name"] == live.contexts[0]]
    (user,) = [item["user"] for item in config["users"] if item["name"] == context["user"]]
    for name, who in users.items():
        config["users"].append({"name": name, "user": {**user, "as": who}})
        config["contexts"].append({"name": name, "context": {**context, "user": name}})
    path = folder / "kubeconfig"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    path.chmod(0o600)
    return path


def test_the_role_docs_security_gives_is_enough_and_without_it_the_error_names_the_lease(
    live_clusters: LiveClusters, admin: client.ApiClient, stack_name: str, tmp_path: Path
) -> None:
    """Run as a user bound to exactly that Role (impersonated), a lease is taken, renewed and deleted;
    as a user with no rights, apply's line says which lease it could not read, with the 403."""
    user = f"meshcharts-lease-{secrets.token_hex(4)}"
    role = _documented_role()
    role["metadata"]["name"] = user
    for rule in role["rules"]:
        if "resourceNames" in rule:
            rule["resourceNames"] = [lease_name(stack_name)]
    rbac = client.RbacAuthorizationV1Api(admin)
    rbac.create_namespaced_role(NAMESPACE, role)
    binding: Any = {
        "metadata": {"name": user, "namespace": NAMESPACE},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": user},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
    }
    rbac.create_namespaced_role_binding(NAMESPACE, binding)
    # Impersonated as the kubeconfig says it (a user's ``as:``), which meshcharts' client honours.
    kubeconfig = _impersonating(live_clusters, tmp_path, {"bound": user, "stranger": f"{user}-unbound"})
    bound = api_client(str(kubeconfig), "bound", "east")
    stranger = api_client(str(kubeconfig), "stranger", "east")
    try:
        with ClusterLease(bound, stack_name, "east", "bound", timeout=0, duration=3) as held:
            wait_for(lambda: (live := _read(admin, stack_name)) is not None and _renewed_for(live) > timedelta(seconds=4), "a renewal as that user")
            assert not held.lost.is_set()
        assert _read(admin, stack_name) is None  # deleted as that user
        with pytest.raises(MeshchartsError) as caught:
            ClusterLease(stranger, stack_name, "east", "stranger", timeout=0).acquire()
        (diagnostic,) = caught.value.diagnostics
        assert diagnostic.rule == "apply.cluster-lease"
        assert diagnostic.message == f"cannot read the cluster lease {NAMESPACE}/{lease_name(stack_name)}: 403 Forbidden"
        assert diagnostic.hint is not None and "docs/security.md" in diagnostic.hint
    finally:
        bound.close()
        stranger.close()
        rbac.delete_namespaced_role_binding(user, NAMESPACE)
        rbac.delete_namespaced_role(user, NAMESPACE)
