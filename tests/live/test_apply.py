"""``meshcharts apply`` of the bundled example on both live clusters, checked against the API and helm.

One module-scoped apply (the example plus a canary secret given with ``!env``) is the first run; the
tests read what it did: every release on both clusters with that cluster's own values, CRD releases
before their users, the run in ``history``, the canary nowhere but in the cluster. Then a second
apply that changes nothing and runs no ``helm upgrade``, and a ``helm upgrade`` by hand that the
next apply sees and undoes.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from meshcharts.sandbox import seed
from tests.live.conftest import LIVE_HELM, LiveClusters, helm_for
from tests.live.example import (
    CLUSTERS,
    NAMESPACE,
    RELEASES,
    CliRun,
    ExampleStack,
    files_containing,
)

pytestmark = pytest.mark.live

CANARY_ENV = "MESHCHARTS_LIVE_CANARY"
CLUSTER_IDS = {"east": "c-pzk8b", "west": "c-8x2kq"}


@dataclass
class FirstApply:
    stack: ExampleStack
    run: CliRun
    canary: str
    started: float  # epoch seconds, for "files written by the run"
    seconds: float


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory, live_clusters: LiveClusters, standin_charts: Path, helm_home: dict[str, str]) -> Iterator[FirstApply]:
    """The example (with a canary secret in Kiali's values) applied once to clean clusters."""
    stack = ExampleStack(tmp_path_factory.mktemp("apply"), live_clusters, standin_charts, helm_for(LIVE_HELM), helm_home)
    stack.edit("values/kiali.yaml", lambda text: text + f"login_token:\n  signing_key: !env {CANARY_ENV}\n")
    canary = f"canary-{secrets.token_hex(12)}"
    stack.env[CANARY_ENV] = canary
    stack.uninstall()
    stack.pull()
    started = time.time()
    run = stack.apply()
    seconds = time.time() - started
    assert run.returncode == 0, run
    yield FirstApply(stack, run, canary, started, seconds)


def test_every_release_is_on_both_clusters_with_that_clusters_values(first: FirstApply, live_clusters: LiveClusters) -> None:
    stack = first.stack
    for cluster in CLUSTERS:
        releases = stack.releases(cluster)
        assert sorted(releases) == sorted(RELEASES), cluster
        assert {item["status"] for item in releases.values()} == {"deployed"}
        kiali = stack.values(cluster, "rancher-kiali-server")
        assert kiali["global"]["cattle"]["clusterId"] == CLUSTER_IDS[cluster]
        # What the stand-in Kiali renders from those values: the ConfigMap Kiali would run with.
        api = seed.api_client(live_clusters.kubeconfig, stack.contexts[cluster])
        config_map = client.CoreV1Api(api).read_namespaced_config_map("kiali", NAMESPACE)
        api.close()
        assert config_map.data is not None
        config = yaml.safe_load(config_map.data["config.yaml"])
        assert config["global"]["cattle"]["clusterId"] == CLUSTER_IDS[cluster]
        assert config["external_services"]["tracing"]["in_cluster_url"] == "http://tracing.istio-system.svc:16686/jaeger"
        expected_namespaces = ["istio-system", "sample"] if cluster == "east" else ["istio-system"]
        assert config["deployment"]["accessible_namespaces"] == expected_namespaces
    # west's own layer: a larger volume for traces.
    assert stack.values("west", "rancher-tracing")["jaeger"]["persistentVolumeClaim"]["storage"] == "10Gi"
    assert stack.values("east", "rancher-tracing")["jaeger"]["persistentVolumeClaim"]["storage"] == "5Gi"
    lines = first.run.stdout.splitlines()
    assert "east: ok (4 deployed)" in lines and "west: ok (4 deployed)" in lines, first.run


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_crd_release_went_before_the_release_that_uses_it(first: FirstApply) -> None:
    stack = first.stack
    rows = {(row["cluster"], row["release"]): row for row in stack.release_rows()}
    for cluster in CLUSTERS:
        crd, kiali = rows[(cluster, "rancher-kiali-server-crd")], rows[(cluster, "rancher-kiali-server")]
        assert crd["status"] == kiali["status"] == "deployed"
        assert _moment(crd["ended_at"]) <= _moment(kiali["started_at"]), cluster
        # helm's own record agrees: the CRD release was created first.
        crd_info = stack.status(cluster, "rancher-kiali-server-crd")["info"]
        kiali_info = stack.status(cluster, "rancher-kiali-server")["info"]
        assert crd_info["first_deployed"] < kiali_info["first_deployed"]
    # Jaeger depends on neither, so it ran beside them, not after them.
    for cluster in CLUSTERS:
        tracing, kiali = rows[(cluster, "rancher-tracing")], rows[(cluster, "rancher-kiali-server")]
        assert _moment(tracing["started_at"]) < _moment(kiali["ended_at"]), cluster


def test_history_lists_the_run_and_every_release_by_name(first: FirstApply) -> None:
    stack = first.stack
    document = stack.cli("history", "--output", "json").json()
    (run,) = [item for item in document["runs"] if item["outcome"] == "succeeded" and item["command"] == "apply"][-1:]
    mine = [item for item in document["releases"] if item["run"] == run["id"]]
    assert sorted((item["cluster"], item["release"]) for item in mine) == sorted((c, r) for c in CLUSTERS for r in RELEASES)
    assert {item["status"] for item in mine} == {"deployed"}
    assert all(item["helm_revision"] == 1 for item in mine)
    text = stack.cli("history", "--cluster", "east")
    assert text.returncode == 0, text
    table = [line for line in text.stdout.splitlines() if f"│ {run['id']} " in line or line.startswith(f"{run['id']} ")]
    for release in RELEASES:
        # The release name, not only the component: kiali has two releases.
        assert any(f" {release} " in line for line in table), text.stdout


def test_a_second_apply_changes_nothing_and_runs_no_helm_upgrade(first: FirstApply) -> None:
    stack = first.stack
    again = stack.apply()
    assert again.returncode == 0, again
    assert again.helm_calls == (), "an unchanged release makes no helm call at all, not even `helm version`"
    assert "east: ok (4 unchanged)" in again.stdout.splitlines(), again
    for cluster in CLUSTERS:
        assert {name: item["revision"] for name, item in stack.releases(cluster).items()} == dict.fromkeys(RELEASES, "1")


def test_the_canary_secret_is_nowhere_but_in_the_cluster(first: FirstApply, live_clusters: LiveClusters) -> None:
    stack, needle = first.stack, first.canary.encode()
    run = first.run
    assert first.canary not in run.stdout + run.stderr
    assert run.verbs().count("upgrade") == 8
    assert all(first.canary not in arg for call in run.helm_calls for arg in call)
    ledger_files = [path for path in stack.root.glob("meshcharts.ledger.sqlite*")]
    assert ledger_files and all(needle not in path.read_bytes() for path in ledger_files)
    history = stack.cli("history", "--output", "json", "--limit", "100")
    assert first.canary not in history.stdout
    skip = [live_clusters.sandbox.workdir] if live_clusters.sandbox else []  # the clusters' own storage
    control = stack.folder / "control.txt"  # proves the search finds what is there
    control.write_bytes(b"x" + needle + b"x")
    found = files_containing(needle, [stack.root, stack.folder, Path("/tmp")], since=first.started - 1, skip=skip)
    control.unlink()
    assert found == [control]
    # ...but the cluster has it: helm was given it, and the stand-in Kiali renders it.
    for cluster in CLUSTERS:
        assert stack.values(cluster, "rancher-kiali-server")["login_token"]["signing_key"] == first.canary
    recorded = [row for row in stack.release_rows() if row["release"] == "rancher-kiali-server"]
    values = stack.ledger("SELECT values_json FROM meshcharts_value_sets")
    assert recorded and values and all(first.canary not in row["values_json"] for row in values)


def test_an_unchanged_apply_changes_and_records_nothing_and_says_so(first: FirstApply) -> None:
    stack = first.stack
    runs_before = [tuple(row) for row in stack.ledger("SELECT id, outcome FROM meshcharts_runs ORDER BY id")]
    run = stack.apply("--output", "json")
    assert run.returncode == 0, run
    document = run.json()
    assert document["ok"] is True and set(document["clusters"]) == set(CLUSTERS)
    assert document["run"] is None and document["ledger"] is None
    live = {(cluster, name): int(item["revision"]) for cluster in CLUSTERS for name, item in stack.releases(cluster).items()}
    reported = {
        (cluster, item["release"]): (item["action"], item["status"], item["revision"])
        for cluster, result in document["clusters"].items()
        for item in result["releases"]
    }
    assert reported == {key: ("unchanged", "unchanged", revision) for key, revision in live.items()} and len(reported) == 8
    assert [tuple(row) for row in stack.ledger("SELECT id, outcome FROM meshcharts_runs ORDER BY id")] == runs_before, "nothing was run, so nothing is recorded"
    assert run.helm_calls == () and run.stderr == "", "json mode prints no progress lines"
    text = stack.apply()
    assert text.returncode == 0, text
    assert text.stdout.splitlines()[-1] == "No changes: every release matches the stack and its live objects; nothing was run or recorded."


#: What a run with nothing to do must not import: each is a large share of its start-up (pyhelm3 brings
#: pydantic and asyncio; SQLAlchemy is the ledger; rich draws the live view on a terminal only; the
#: kubernetes package, with urllib3 and pydantic, is not on the deploy path at all: meshcharts.kube is).
HEAVY_FOR_NOTHING_TO_DO = ("pyhelm3", "pydantic", "sqlalchemy", "rich", "kubernetes", "urllib3")


@pytest.mark.parametrize("command", [("plan", "--detailed-exitcode"), ("drift",), ("apply", "--yes")])
def test_a_run_with_nothing_to_do_never_loads_helm_the_ledger_or_rich(first: FirstApply, command: tuple[str, ...]) -> None:
    run = first.stack.cli(*command, env={"PYTHONPROFILEIMPORTTIME": "1"})  # python's own list of every import, on stderr
    assert run.returncode == 0, run
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines() if line.startswith("import time:")}
    assert "meshcharts.deploy.planning" in imported, "the list is there"
    assert sorted(name for name in imported if name.split(".")[0] in HEAVY_FOR_NOTHING_TO_DO) == []


def test_a_helm_upgrade_by_hand_is_seen_and_undone_by_the_next_apply(first: FirstApply) -> None:
    stack = first.stack
    ours = stack.values("east", "rancher-tracing")
    lock = yaml.safe_load((stack.root / "meshcharts.lock").read_text(encoding="utf-8"))
    (digest,) = [entry["digest"] for entry in lock["charts"] if entry["chart"] == "rancher-tracing"]
    chart = stack.folder / "cache" / "charts" / f"{digest.removeprefix('sha256:')}.tgz"
    stack.helm("east", "upgrade", "rancher-tracing", str(chart), "-n", NAMESPACE, "--reuse-values", "--set", "jaeger.spanStorageType=memory")
    assert stack.values("east", "rancher-tracing")["jaeger"]["spanStorageType"] == "memory"
    run = stack.apply("--output", "json")
    assert run.returncode == 0, run
    east = {item["release"]: item for item in run.json()["clusters"]["east"]["releases"]}
    assert east["rancher-tracing"]["action"] == "upgrade" and east["rancher-tracing"]["status"] == "deployed"
    assert east["rancher-tracing"]["revision"] == 3
    assert {name for name, item in east.items() if item["action"] == "unchanged"} == set(RELEASES) - {"rancher-tracing"}
    assert stack.values("east", "rancher-tracing") == ours
    assert ours["jaeger"]["spanStorageType"] == "badger"
    assert [call[1] for call in run.helm_calls if call[0] == "upgrade"] == ["rancher-tracing"]
    # The run is in the ledger exactly as the JSON reports it, the releases left alone included.
    recorded = {(row["cluster"], row["release"]): (row["status"], row["helm_revision"]) for row in stack.release_rows(run.json()["run"])}
    reported = {(cluster, item["release"]): (item["status"], item["revision"]) for cluster, result in run.json()["clusters"].items() for item in result["releases"]}
    assert reported == recorded and len(reported) == 8
