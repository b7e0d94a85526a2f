"""``meshcharts apply`` when things go wrong, on the live clusters: a release that fails (and says
which object was not ready, and why), ``kill -9`` in the middle, two applies at once, a cluster that
cannot be reached. Each test starts from clusters without the example's releases."""

from __future__ import annotations

import os
import re
import signal
import socket
from pathlib import Path

import pytest
import yaml
from kubernetes import client as k8s

from meshcharts.sandbox import seed
from tests.live.example import (
    NAMESPACE,
    RELEASES,
    ExampleStack,
    example,
    fail_kiali_on_east,
    hang_tracing_on_east,
    kubeconfig_with,
    wait_for,
)

pytestmark = pytest.mark.live

__all__ = ["example"]  # the fixture


def _rows(stack: ExampleStack, run: int) -> dict[tuple[str, str], list[str]]:
    """Per (cluster, release), the statuses the ledger recorded in ``run``, in order."""
    found: dict[tuple[str, str], list[str]] = {}
    for row in stack.release_rows(run):
        found.setdefault((row["cluster"], row["release"]), []).append(row["status"])
    return found


def test_a_failing_release_stops_its_cluster_and_the_other_cluster_finishes(example: ExampleStack) -> None:
    # mesh-extras' NetworkPolicy and NavLinks point at Kiali: it is applied after Kiali.
    example.edit("meshcharts.yaml", lambda text: text.replace("    type: mesh-extras\n", "    type: mesh-extras\n    needs: [kiali]\n"))
    fail_kiali_on_east(example)
    run = example.apply("--timeout", "15s")
    assert run.returncode == 1, run
    lines = run.stdout.splitlines()
    east = lines[: lines.index("west: ok (4 deployed)")]
    assert east[0] == "east: failed (2 deployed, 1 failed, 1 skipped)", run
    by_release = {line.split()[1]: line for line in east[1:]}
    assert by_release["rancher-kiali-server-crd"].split()[0] == "deployed"
    assert by_release["rancher-kiali-server"].split()[0] == "failed"
    assert "install failed: helm upgrade --install rancher-kiali-server:" in by_release["rancher-kiali-server"]
    # Not only helm's "context deadline exceeded": which object was not ready, and the scheduler's reason.
    why = "; not ready: Deployment istio-system/kiali: 0/1 ready: pod kiali-"
    unschedulable = "Unschedulable: 0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    assert why in by_release["rancher-kiali-server"] and unschedulable in by_release["rancher-kiali-server"], run
    # While helm waited, the live view said what for (plain lines: stderr is not a terminal).
    assert "east/rancher-kiali-server: installing: waiting for Deployment kiali (0/1 ready)" in run.stderr.splitlines(), run
    # Jaeger needs nothing that failed, and ran beside Kiali; mesh-extras waited for Kiali and was not attempted.
    assert by_release["rancher-tracing"].split()[0] == "deployed"
    assert by_release["mesh-extras"].split()[:2] == ["skipped", "mesh-extras"]
    assert by_release["mesh-extras"].endswith("not attempted: rancher-kiali-server failed on east")
    assert lines[-1].startswith("run 1 recorded in ")
    # The clusters agree with what was said.
    assert sorted(example.releases("west")) == sorted(RELEASES)
    live = example.releases("east")
    assert "mesh-extras" not in live and live["rancher-kiali-server"]["status"] == "failed"
    statuses = _rows(example, 1)
    assert statuses[("east", "mesh-extras")] == ["skipped"]
    assert statuses[("east", "rancher-kiali-server")] == ["failed"]
    failed = example.release_rows(1)
    (kiali,) = [row for row in failed if row["cluster"] == "east" and row["release"] == "rancher-kiali-server"]
    assert kiali["helm_revision"] == 1, "the revision helm left failed is recorded"
    assert why in kiali["error"] and unschedulable in kiali["error"]
    assert kiali["note"] == "revision 1 is left failed on the cluster"
    assert example.ledger("SELECT outcome FROM meshcharts_runs WHERE id = 1")[0]["outcome"] == "failed"


#: The label the tests' own kwok Stage (tests/fixtures/kwok-stages/pod-never-ready.yaml) looks for.
NEVER_READY = "stage.sandbox.meshcharts.io/never-ready"


def test_pods_that_never_become_ready_are_named_with_their_reason_and_atomic_undoes_the_release(example: ExampleStack) -> None:
    example.live.require_sandbox()  # the never-ready Pods are the sandbox's kwok Stage
    east_values = "values/clusters/east/kiali.yaml"
    plain = (example.root / east_values).read_text(encoding="utf-8")
    never_ready = plain + f'  pod_labels: {{{NEVER_READY}: "true"}}\n'  # the Pod runs, its readiness probe keeps failing
    # A first install that fails with --atomic: helm uninstalls it, and the ledger says so and why.
    example.write(east_values, never_ready)
    first = example.apply("--cluster", "east", "--atomic", "--timeout", "10s")
    assert first.returncode == 1, first
    (row,) = [r for r in example.release_rows(1) if r["release"] == "rancher-kiali-server"]
    assert (row["status"], row["helm_revision"]) == ("failed", None), first
    assert row["note"] == "helm uninstalled the failed release (--atomic): nothing of it is left on the cluster", first
    assert "; not ready: Deployment istio-system/kiali: 0/1 ready: pod kiali-" in row["error"], first
    assert "rancher-kiali-server" not in example.releases("east")

    example.write(east_values, plain)
    second = example.apply()
    assert second.returncode == 0, second
    # A new Kiali revision for both clusters; on east its Pod never becomes ready.
    example.edit("values/kiali.yaml", lambda text: text.replace("deployment:\n", "deployment:\n  pod_annotations: {meshcharts.io/change: two}\n", 1))
    example.write(east_values, never_ready)
    run = example.apply("--atomic", "--timeout", "15s")
    assert run.returncode == 1, run
    lines = run.stdout.splitlines()
    (kiali,) = [line for line in lines if line.split()[:2] == ["failed", "rancher-kiali-server"]]
    assert "upgrade failed: helm upgrade --install rancher-kiali-server: " in kiali and "rolled back" in kiali, run
    assert re.search(
        r"; not ready: Deployment istio-system/kiali: 0/1 ready: pod kiali-[a-z0-9]+-[a-z0-9]+: ContainersNotReady: containers with "
        r"unready status: \[kiali\]; event Unhealthy: Readiness probe failed: HTTP probe failed with statuscode: 503$",
        kiali,
    ), run
    assert "east/rancher-kiali-server: upgrading: waiting for Deployment kiali (0/1 ready)" in run.stderr.splitlines(), run
    # The other cluster went on: west's Kiali is upgraded.
    assert "west: ok (" in run.stdout, run
    assert example.releases("west")["rancher-kiali-server"]["revision"] == "2"
    # --atomic rolled east back: revision 2 failed, revision 3 is revision 1 again, and the ledger says so.
    history = yaml.safe_load(example.helm("east", "history", "rancher-kiali-server", "-n", NAMESPACE, "-o", "json"))
    assert [(item["revision"], item["status"]) for item in history] == [(1, "superseded"), (2, "failed"), (3, "deployed")]
    assert history[-1]["description"] == "Rollback to 1"
    (row,) = [r for r in example.release_rows(3) if r["cluster"] == "east" and r["release"] == "rancher-kiali-server"]
    assert (row["status"], row["helm_revision"]) == ("failed", 3), run
    assert row["note"] == "rolled back (--atomic): revision 2 failed; revision 3 restores revision 1", run
    assert "not ready: Deployment istio-system/kiali: 0/1 ready: pod kiali-" in row["error"], run
    assert "event Unhealthy: Readiness probe failed" in row["error"], run
    assert _rows(example, 3)[("west", "rancher-kiali-server")] == ["deployed"]


def test_a_claim_no_provisioner_serves_and_an_object_the_api_server_rejects_are_reported_as_such(example: ExampleStack) -> None:
    # A StorageClass east has (so the pre-flight checks pass) but whose provisioner is not running.
    unserved = "meshcharts-test-unserved"
    api = seed.api_client(example.live.kubeconfig, example.contexts["east"])
    storage = k8s.StorageV1Api(api)
    storage.create_storage_class(k8s.V1StorageClass(metadata=k8s.V1ObjectMeta(name=unserved), provisioner="example.com/nobody"))
    try:
        example.write("values/clusters/east/tracing.yaml", f"jaeger:\n  storageClassName: {unserved}\n")
        bad = "not a label value!"
        example.write("values/clusters/west/kiali.yaml", f'deployment:\n  pod_labels: {{meshcharts.io/bad: "{bad}"}}\n')
        run = example.apply("--timeout", "15s")
    finally:
        storage.delete_storage_class(unserved)
        api.close()
    assert run.returncode == 1, run
    lines = run.stdout.splitlines()
    east = lines[: lines.index(next(line for line in lines if line.startswith("west: ")))]
    (tracing,) = [line for line in east if line.split()[:2] == ["failed", "rancher-tracing"]]
    waiting = (
        "; not ready: PersistentVolumeClaim istio-system/istio-jaeger-pvc: Pending: event ExternalProvisioning: "
        "Waiting for a volume to be created either by the external provisioner 'example.com/nobody'"
    )
    assert waiting in tracing, run
    # Rejected at once: the API server's own words, and nothing about readiness (helm never waited).
    (kiali,) = [line for line in lines[len(east):] if line.split()[:2] == ["failed", "rancher-kiali-server"]]
    assert 'Deployment.apps "kiali" is invalid: spec.template.labels: Invalid value: "not a label value!"' in kiali, run
    assert "not ready" not in kiali, run
    rows = {(r["cluster"], r["release"]): r for r in example.release_rows(1) if r["status"] == "failed"}
    assert waiting.removeprefix("; ") in rows[("east", "rancher-tracing")]["error"]
    assert f'Invalid value: "{bad}"' in rows[("west", "rancher-kiali-server")]["error"]
    # What is left behind: both releases failed in helm, each with its note.
    assert example.releases("east")["rancher-tracing"]["status"] == "failed"
    assert example.releases("west")["rancher-kiali-server"]["status"] == "failed"
    assert rows[("west", "rancher-kiali-server")]["note"] == "revision 1 is left failed on the cluster"


def test_kill_9_in_the_middle_leaves_what_the_next_apply_repairs(example: ExampleStack) -> None:
    hang_tracing_on_east(example)
    killed = example.start("apply", "--yes", "--timeout", "5m", name="killed")

    def pending() -> bool:
        rows = example.release_rows(1)
        ledger = any(r["cluster"] == "east" and r["release"] == "rancher-tracing" and r["status"] == "pending" for r in rows)
        return ledger and example.releases("east").get("rancher-tracing", {}).get("status") == "pending-install"

    wait_for(pending, "east's rancher-tracing to be pending in the ledger and in helm")
    killed.kill()
    # Nothing claims what helm did not finish.
    assert example.ledger("SELECT outcome FROM meshcharts_runs WHERE id = 1")[0]["outcome"] == "running"
    assert "deployed" not in _rows(example, 1)[("east", "rancher-tracing")]

    (example.root / "values" / "clusters" / "east" / "tracing.yaml").unlink()
    run = example.apply("--output", "json")
    assert run.returncode == 0, run
    (first,) = example.ledger("SELECT outcome, note FROM meshcharts_runs WHERE id = 1")
    assert first["outcome"] == "interrupted" and "is gone" in first["note"]
    assert _rows(example, 1)[("east", "rancher-tracing")] == ["interrupted"]
    # The release left pending-install is recovered (and the ledger says so), then deployed.
    assert _rows(example, 2)[("east", "rancher-tracing")] == ["recovered", "deployed"]
    notes = [row["note"] for row in example.release_rows(2) if row["cluster"] == "east" and row["release"] == "rancher-tracing"]
    assert "left pending-install by an interrupted run" in notes[0]
    assert notes[1] == "recovered from pending-install (revision 1 marked failed)"
    tracing = next(item for item in run.json()["clusters"]["east"]["releases"] if item["release"] == "rancher-tracing")
    assert (tracing["action"], tracing["status"], tracing["revision"]) == ("recover", "deployed", 2)
    assert example.releases("east")["rancher-tracing"]["status"] == "deployed"
    history = example.helm("east", "history", "rancher-tracing", "-n", "istio-system", "-o", "json")
    assert [item["status"] for item in yaml.safe_load(history)] == ["superseded", "deployed"]


@pytest.mark.parametrize(
    ("signum", "whole_group"),
    [(signal.SIGINT, True), (signal.SIGTERM, False)],
    ids=["ctrl-c-on-the-terminal", "sigterm-to-meshcharts-alone"],
)
def test_an_interrupted_apply_stops_cleanly_and_says_what_it_did(example: ExampleStack, signum: int, whole_group: bool) -> None:
    """Ctrl-C reaches meshcharts and the helm it runs (the terminal's process group); a CI runner's
    SIGTERM reaches meshcharts alone, which passes SIGINT on to helm rather than wait out --timeout."""
    hang_tracing_on_east(example)
    started = example.start("apply", "--yes", "--cluster", "east", "--release-concurrency", "1", "--timeout", "5m", name="stopped")

    def pending() -> bool:
        rows = example.release_rows(1)
        ledger = any(r["release"] == "rancher-tracing" and r["status"] == "pending" for r in rows)
        return ledger and example.releases("east").get("rancher-tracing", {}).get("status") == "pending-install"

    wait_for(pending, "east's rancher-tracing to be pending in the ledger and in helm")
    if whole_group:
        os.killpg(started.process.pid, signum)
    else:
        os.kill(started.process.pid, signum)
    assert started.wait(timeout=60) == 130, started.stdout + started.stderr
    assert "meshcharts: apply interrupted: nothing more was started; run 1 is recorded as interrupted" in started.stderr
    lines = started.stdout.splitlines()
    assert lines[0] == "east: interrupted (2 deployed, 1 failed, 1 skipped)", started.stdout
    assert lines[-2].split()[:2] == ["skipped", "mesh-extras"] and lines[-2].endswith("not attempted: the apply was interrupted")
    # helm cancelled its release instead of leaving it pending, and the ledger says what helm said.
    assert example.releases("east")["rancher-tracing"]["status"] == "failed"
    assert _rows(example, 1)[("east", "rancher-tracing")] == ["failed"]
    assert _rows(example, 1)[("east", "mesh-extras")] == ["skipped"]
    (run,) = example.ledger("SELECT outcome, note FROM meshcharts_runs WHERE id = 1")
    assert run["outcome"] == "interrupted" and "interrupted by the user" in run["note"]
    assert example.ledger("SELECT * FROM meshcharts_locks") == []

    (example.root / "values" / "clusters" / "east" / "tracing.yaml").unlink()
    again = example.apply("--cluster", "east")
    assert again.returncode == 0, again
    assert sorted(example.releases("east")) == sorted(RELEASES)


def test_a_second_apply_on_the_same_cluster_refuses_or_waits_with_a_clear_line(example: ExampleStack) -> None:
    hang_tracing_on_east(example)
    first = example.start("apply", "--yes", "--cluster", "east", "--timeout", "5m", name="first")
    wait_for(lambda: example.ledger("SELECT run_id FROM meshcharts_locks WHERE cluster = 'east'"), "the first apply to lock east")
    refused = example.apply("--cluster", "east", "--lock-timeout", "1")
    assert refused.returncode == 1, refused
    (line,) = [line for line in refused.stdout.splitlines() if line.startswith("east:")]
    assert line.startswith(
        "east: not applied (4 releases skipped): stack mesh-observability, cluster east: another apply holds the lock: "
        "run 1 ("
    ), refused
    assert f"pid {first.process.pid}, since " in line and line.endswith("; waited 1s")

    (example.root / "values" / "clusters" / "east" / "tracing.yaml").unlink()
    waiting = example.start("apply", "--yes", "--cluster", "east", "--lock-timeout", "300", name="waiting")
    wait_for(lambda: "east: waiting for the lock held by run 1 (" in waiting.stderr, "the waiting apply to say what it waits for")
    first.kill()  # the holder dies: its lock is taken over, its release recovered
    assert waiting.wait(timeout=300) == 0, waiting.stdout + waiting.stderr
    assert "east: ok (" in waiting.stdout and "recovered from pending-install" in waiting.stdout
    assert example.releases("east")["rancher-tracing"]["status"] == "deployed"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_or_unknown_cluster_is_one_line_and_the_others_are_applied(example: ExampleStack, tmp_path: Path) -> None:
    kubeconfig = kubeconfig_with(example.live, tmp_path, {"gone": f"https://127.0.0.1:{_closed_port()}"})
    extra = ""
    for name, context in (("north", "gone"), ("south", "no-such-context")):  # unreachable; not in the kubeconfig
        extra += f"  {name}:\n    context: {context}\n    env: prod\n    vars: {{clusterId: c-{name}, registry: mtr.example.com, storageClass: sata}}\n    crds: [ui.cattle.io]\n"
    example.edit("meshcharts.yaml", lambda text: text.replace("components:\n", extra + "components:\n", 1))
    run = example.apply("--kubeconfig", str(kubeconfig))
    assert run.returncode == 1, run
    lines = run.stdout.splitlines()
    (line,) = [line for line in lines if "north" in line]
    assert line.startswith("north: not applied (4 releases skipped): cannot ask the cluster what it serves: "), run
    assert "Connection refused" in line
    (line,) = [line for line in lines if "south" in line]
    assert line.startswith(f"south: not applied (4 releases skipped): cannot use kube-context 'no-such-context' from {kubeconfig}: "), run
    assert "east: ok (4 deployed)" in lines and "west: ok (4 deployed)" in lines
    assert "Traceback" not in run.stderr and "Retrying" not in run.stderr, run.stderr
    assert len([line for line in run.stderr.splitlines() if "cannot ask the cluster what it serves" in line]) == 1, run.stderr
    for cluster in ("north", "south"):
        assert {row["status"] for row in example.release_rows(1) if row["cluster"] == cluster} == {"skipped"}
