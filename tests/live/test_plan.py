"""``meshcharts plan``, ``drift`` and a converging ``apply`` on the live clusters, through the real CLI.

One module-scoped copy of the example goes through what a user does: plan a fresh stack (all adds,
exit 2 with --detailed-exitcode), apply, plan again (no change, exit 0, nothing written to the
cluster), change one value (one upgrade, the value with its file:line), edit and delete objects by
hand (drift, then restored by apply), and apply a saved plan (refused after a by-hand helm upgrade).
"""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from meshcharts.sandbox import seed
from tests.live.conftest import LIVE_HELM, LiveClusters, helm_for
from tests.live.example import CLUSTERS, NAMESPACE, RELEASES, ExampleStack, kubeconfig_with

pytestmark = pytest.mark.live

CANARY_ENV = "MESHCHARTS_PLAN_CANARY"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, live_clusters: LiveClusters, standin_charts: Path, helm_home: dict[str, str]) -> Iterator[ExampleStack]:
    example = ExampleStack(tmp_path_factory.mktemp("plan"), live_clusters, standin_charts, helm_for(LIVE_HELM), helm_home)
    example.edit("values/kiali.yaml", lambda text: text + f"login_token:\n  signing_key: !env {CANARY_ENV}\n")
    example.env[CANARY_ENV] = f"canary-{secrets.token_hex(12)}"
    example.uninstall()
    example.pull()
    yield example


def _api(stack: ExampleStack, live: LiveClusters, cluster: str) -> Any:
    return seed.api_client(live.kubeconfig, stack.contexts[cluster])


def _versions(stack: ExampleStack, live: LiveClusters) -> dict[tuple[str, str, str], str]:
    """resourceVersion of every object in the example's namespace (and the helm records), per cluster."""
    found = {}
    for cluster in CLUSTERS:
        api = _api(stack, live, cluster)
        core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
        for listing in (core.list_namespaced_config_map, core.list_namespaced_service, core.list_namespaced_secret, apps.list_namespaced_deployment):
            for item in listing(NAMESPACE).items:
                found[(cluster, type(item).__name__, item.metadata.name)] = item.metadata.resource_version
        api.close()
    return found


def _releases(document: dict[str, Any], cluster: str) -> dict[str, dict[str, Any]]:
    return {item["release"]: item for item in document["clusters"][cluster]["releases"]}


def test_plan_of_a_fresh_stack_is_all_adds_and_exits_2(stack: ExampleStack) -> None:
    run = stack.cli("plan", "--detailed-exitcode", "--output", "json")
    assert run.returncode == 2, run
    document = run.json()
    for cluster in CLUSTERS:
        releases = _releases(document, cluster)
        assert list(releases) == list(RELEASES)
        assert {item["action"] for item in releases.values()} == {"install"}
        summary = document["clusters"][cluster]["summary"]
        assert summary["add"] > 0 and summary["change"] == 0 and summary["destroy"] == 0
        assert all(obj["change"] == "add" for item in releases.values() for obj in item["objects"])
    assert "upgrade" not in run.verbs() and "install" not in run.verbs()
    text = stack.cli("plan")
    assert text.returncode == 0, text
    assert any(line.startswith("east (") and "to add, 0 to change, 0 to destroy" in line for line in text.stdout.splitlines()), text
    canary = stack.env[CANARY_ENV]
    assert canary not in text.stdout + run.stdout + text.stderr + run.stderr
    assert not any(canary in arg for call in run.helm_calls + text.helm_calls for arg in call)  # values go on stdin only


def test_after_apply_plan_says_no_changes_and_writes_nothing(stack: ExampleStack, live_clusters: LiveClusters) -> None:
    applied = stack.apply()
    assert applied.returncode == 0, applied
    before = _versions(stack, live_clusters)
    run = stack.cli("plan", "--detailed-exitcode")
    assert run.returncode == 0, run
    assert "No changes" in run.stdout
    assert _versions(stack, live_clusters) == before  # plan wrote nothing: no object's resourceVersion moved
    assert set(run.verbs()) <= {"version", "template"}, run.helm_calls  # and ran no helm verb that writes
    again = stack.apply("--output", "json")
    assert again.returncode == 0 and "upgrade" not in again.verbs(), again
    for cluster in CLUSTERS:
        assert {item["action"] for item in again.json()["clusters"][cluster]["releases"]} == {"unchanged"}


def test_one_changed_value_is_one_change_with_its_file_and_line(stack: ExampleStack) -> None:
    layer = stack.write("values/clusters/east/tracing.yaml", "jaeger:\n  spanStorageType: memory\n")
    run = stack.cli("plan", "--output", "json", "--detailed-exitcode")
    assert run.returncode == 2, run
    document = run.json()
    east = _releases(document, "east")
    assert [name for name, item in east.items() if item["action"] != "unchanged"] == ["rancher-tracing"]
    assert {item["action"] for item in _releases(document, "west").values()} == {"unchanged"}
    (value,) = east["rancher-tracing"]["values"]
    assert value["path"] == "jaeger.spanStorageType" and value["after"] == "memory"
    assert value["location"].startswith("values/clusters/east/tracing.yaml:2:"), value
    assert document["summary"]["change"] >= 1 and document["summary"]["add"] == 0
    markdown = stack.cli("plan", "--output", "markdown")
    assert "| `rancher-tracing` |" in markdown.stdout and "<details>" in markdown.stdout, markdown
    assert stack.env[CANARY_ENV] not in markdown.stdout + run.stdout
    layer.unlink()
    assert stack.cli("plan", "--detailed-exitcode").returncode == 0


def test_live_edits_are_drift_and_apply_restores_them(stack: ExampleStack, live_clusters: LiveClusters) -> None:
    assert stack.apply().returncode == 0  # on its own too: every release deployed
    api = _api(stack, live_clusters, "east")
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    (deployment,) = [item for item in apps.list_namespaced_deployment(NAMESPACE).items if item.metadata.name == "kiali"]
    wanted = deployment.spec.replicas
    apps.patch_namespaced_deployment_scale("kiali", NAMESPACE, {"spec": {"replicas": wanted + 2}})
    (service,) = [item for item in core.list_namespaced_service(NAMESPACE).items if item.metadata.name == "tracing"]
    core.delete_namespaced_service(service.metadata.name, NAMESPACE)
    try:
        drift = stack.cli("drift", "--output", "json")
        assert drift.returncode == 2, drift
        east = _releases(drift.json(), "east")
        changed = {(obj["kind"], obj["name"]): obj for item in east.values() for obj in item["objects"]}
        assert changed[("Deployment", "kiali")]["change"] == "change" and changed[("Deployment", "kiali")]["drift"]
        assert any(field["path"] == "spec.replicas" and field["after"] == wanted for field in changed[("Deployment", "kiali")]["fields"])
        assert changed[("Service", "tracing")]["change"] == "add"
        assert all(not item["objects"] for item in _releases(drift.json(), "west").values())
        text = stack.cli("drift")
        assert "deleted outside meshcharts" in text.stdout and "changed outside meshcharts" in text.stdout, text
        assert stack.env[CANARY_ENV] not in text.stdout + drift.stdout + text.stderr + drift.stderr
        plan = stack.cli("plan", "--output", "json")
        actions = {name: item["action"] for name, item in _releases(plan.json(), "east").items()}
        assert actions["rancher-kiali-server"] == "restore" and actions["rancher-tracing"] == "restore", actions
        applied = stack.apply("--output", "json")
        assert applied.returncode == 0, applied
        restored = {item["release"]: item for item in applied.json()["clusters"]["east"]["releases"]}
        assert restored["rancher-tracing"]["status"] == "deployed" and restored["rancher-tracing"]["action"] == "restore"
        assert "changed outside meshcharts" in (restored["rancher-tracing"]["note"] or "")
        assert apps.read_namespaced_deployment("kiali", NAMESPACE).spec.replicas == wanted
        assert core.read_namespaced_service("tracing", NAMESPACE).metadata.name == "tracing"
        assert stack.cli("drift").returncode == 0
    finally:
        api.close()


def test_a_saved_plan_is_applied_exactly_or_refused(stack: ExampleStack, tmp_path: Path) -> None:
    assert stack.apply().returncode == 0  # on its own too: every release deployed
    # west's own layer already sets jaeger.persistentVolumeClaim; keep it (a smaller claim is refused).
    stack.edit("values/clusters/west/tracing.yaml", lambda text: text + "  spanStorageType: memory\n")
    saved = tmp_path / "west.plan.json"
    run = stack.cli("plan", "--out", str(saved))
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    text = saved.read_text(encoding="utf-8")
    assert stack.env[CANARY_ENV] not in text
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    # A helm upgrade by hand moves the live revision: the saved plan no longer describes the cluster.
    stack.helm("west", "upgrade", "rancher-kiali-server-crd", "--reuse-values", "-n", NAMESPACE, str(_chart(stack, "rancher-kiali-server-crd")))
    refused = stack.apply(str(saved))
    assert refused.returncode == 1, refused
    assert "rancher-kiali-server-crd" in refused.stderr + refused.stdout and "live revision changed" in refused.stderr + refused.stdout, refused
    assert "upgrade" not in refused.verbs()
    fresh = tmp_path / "again.plan.json"
    assert stack.cli("plan", "--out", str(fresh)).returncode == 0
    applied = stack.apply(str(fresh), "--output", "json")
    assert applied.returncode == 0, applied
    west = {item["release"]: item for item in applied.json()["clusters"]["west"]["releases"]}
    assert west["rancher-tracing"]["action"] == "upgrade"
    tampered = json.loads(fresh.read_text(encoding="utf-8"))
    tampered["format"] = "something else"
    fresh.write_text(json.dumps(tampered), encoding="utf-8")
    assert stack.apply(str(fresh)).returncode == 2


def _chart(stack: ExampleStack, release: str) -> Path:
    """The cached chart archive the example's lock records for ``release``'s chart."""
    lock = yaml.safe_load((stack.root / "meshcharts.lock").read_text(encoding="utf-8"))
    chart = release.removeprefix("rancher-") if release.endswith("-crd") else release
    (digest,) = [entry["digest"] for entry in lock["charts"] if entry["chart"] in (release, chart)]
    return stack.folder / "cache" / "charts" / f"{digest.removeprefix('sha256:')}.tgz"


class _BlackHole:
    """A TCP listener on loopback that accepts connections and never answers: a hung API server, as a
    SIGSTOPped kube-apiserver looks from the client (the kernel completes the handshake, nothing else)."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.port = int(self.server.getsockname()[1])

    def close(self) -> None:
        self.server.close()


def test_a_hung_api_server_is_one_unreachable_cluster_within_bounded_time(stack: ExampleStack, tmp_path: Path) -> None:
    hole = _BlackHole()
    try:
        kubeconfig = kubeconfig_with(stack.live, tmp_path, {"hung": f"https://127.0.0.1:{hole.port}"})
        original = (stack.root / "meshcharts.yaml").read_text(encoding="utf-8")
        extra = "  north:\n    context: hung\n    env: prod\n    vars: {clusterId: c-north, registry: mtr.example.com, storageClass: sata}\n    crds: [ui.cattle.io]\n"
        stack.edit("meshcharts.yaml", lambda text: text.replace("components:\n", extra + "components:\n", 1))
        try:
            for command in (("plan", "--output", "json"), ("drift", "--output", "json")):
                run = stack.cli(*command, "--kubeconfig", str(kubeconfig), timeout=120)
                assert run.returncode == 1, run
                document = run.json()
                assert "cannot" in document["clusters"]["north"]["error"] and "timed out" in document["clusters"]["north"]["error"].lower(), run
                assert document["clusters"]["east"]["error"] is None and document["clusters"]["west"]["error"] is None
            applied = stack.apply("--kubeconfig", str(kubeconfig), "--output", "json")
            assert applied.returncode == 1, applied
            clusters = applied.json()["clusters"]
            assert clusters["north"]["error"] and clusters["east"]["ok"] and clusters["west"]["ok"], applied
            assert {row["status"] for row in stack.release_rows() if row["cluster"] == "north"} == {"skipped"}
        finally:
            (stack.root / "meshcharts.yaml").write_text(original, encoding="utf-8")
    finally:
        hole.close()


def test_what_the_api_server_would_refuse_is_reported_by_plan_and_stops_apply_before_any_cluster(stack: ExampleStack) -> None:
    assert stack.apply().returncode == 0
    original = (stack.root / "values" / "clusters" / "west" / "tracing.yaml").read_text(encoding="utf-8")
    # west's claim is 10Gi; a 1Gi claim is a shrink, which the API server refuses for a bound claim.
    stack.write("values/clusters/west/tracing.yaml", original.replace("10Gi", "1Gi"))
    try:
        run = stack.cli("plan", "--output", "json")
        assert run.returncode == 1, str(run)
        (problem,) = run.json()["clusters"]["west"]["problems"]
        assert problem["rule"] == "plan.rejected" and "istio-jaeger-pvc" in problem["message"], problem
        # At the one value that changed, where the layer sets it: that change is what the server refuses.
        line = 1 + original.splitlines().index(next(text for text in original.splitlines() if "10Gi" in text))
        assert (problem["file"], problem["line"], problem["path"]) == ("values/clusters/west/tracing.yaml", line, "jaeger.persistentVolumeClaim.storage"), problem
        text = stack.cli("plan")
        assert any(line.strip().startswith("! would fail:") and "istio-jaeger-pvc" in line for line in text.stdout.splitlines()), str(text)
        applied = stack.apply()
        assert applied.returncode == 1, str(applied)
        assert "istio-jaeger-pvc" in applied.stderr + applied.stdout
        assert "upgrade" not in applied.verbs()  # refused before any helm call on any cluster
    finally:
        stack.write("values/clusters/west/tracing.yaml", original)


def test_a_kind_the_cluster_does_not_serve_is_found_by_plan_at_its_values_line_and_apply_touches_nothing(stack: ExampleStack) -> None:
    """Seed 004: Kiali exposed through an Istio Gateway, on a cluster that does not serve networking.istio.io
    (the stack says it does; the live cluster decides)."""
    assert stack.apply().returncode == 0
    stack_file = (stack.root / "meshcharts.yaml").read_text(encoding="utf-8")
    extras = (stack.root / "values" / "extras.yaml").read_text(encoding="utf-8")
    stack.write("meshcharts.yaml", stack_file.replace("crds: [ui.cattle.io]", "crds: [ui.cattle.io, networking.istio.io]"))
    gateway = "  istio:\n    kiali:\n      host: kiali.example.com\n      service: {name: kiali, namespace: istio-system, port: 20001}\n      gateway:\n        selector: {istio: ingressgateway}\n"
    stack.write("values/extras.yaml", extras.replace("exposure:\n", "exposure:\n" + gateway, 1))
    try:
        run = stack.cli("plan", "--output", "json")
        assert run.returncode == 1, str(run)
        problems = [problem for cluster in run.json()["clusters"].values() for problem in cluster["problems"]]
        assert problems and {problem["rule"] for problem in problems} == {"preflight.unserved-kind"}, problems
        assert all(problem["file"] == "values/extras.yaml" and "networking.istio.io" in problem["message"] for problem in problems), problems
        assert {"east", "west"} <= {problem["cluster"] for problem in problems} and any("Gateway" in problem["message"] for problem in problems)
        applied = stack.apply()
        assert applied.returncode == 1, str(applied)
        assert "preflight.unserved-kind" in applied.stdout + applied.stderr or "Gateway" in applied.stdout + applied.stderr
        assert "upgrade" not in applied.verbs()  # checked on every cluster before any was touched
    finally:
        stack.write("meshcharts.yaml", stack_file)
        stack.write("values/extras.yaml", extras)


def test_seed_000s_psp_is_found_by_plan_where_the_stack_says_nothing_of_the_version(stack: ExampleStack) -> None:
    """Seed 000 ran `pspEnabled: true`: a policy/v1beta1 PodSecurityPolicy, which Kubernetes 1.25 removed.
    The stack names no Kubernetes version, so validate cannot know; the cluster's discovery does."""
    assert stack.apply().returncode == 0
    kiali = (stack.root / "values" / "kiali.yaml").read_text(encoding="utf-8")
    stack_file = (stack.root / "meshcharts.yaml").read_text(encoding="utf-8")
    stack.write("meshcharts.yaml", "".join(line for line in stack_file.splitlines(keepends=True) if not line.lstrip().startswith("kubernetes:")))
    stack.write("values/kiali.yaml", kiali.replace("pspEnabled: false", "pspEnabled: true", 1))
    try:
        assert stack.cli("validate").returncode == 0
        run = stack.cli("plan", "--output", "json")
        assert run.returncode == 1, str(run)
        problems = [problem for cluster in run.json()["clusters"].values() for problem in cluster["problems"]]
        assert {(problem["rule"], problem["file"], problem["path"]) for problem in problems} == {
            ("preflight.unserved-kind", "values/kiali.yaml", "global.rbac.pspEnabled")
        }, problems
        applied = stack.apply()
        assert applied.returncode == 1 and "upgrade" not in applied.verbs(), str(applied)
    finally:
        stack.write("values/kiali.yaml", kiali)
        stack.write("meshcharts.yaml", stack_file)


def test_a_release_another_tool_installed_with_the_same_chart_and_values_is_unchanged(stack: ExampleStack) -> None:
    """Flux's helm-controller (or a person with helm) installs without meshcharts' description marker:
    the chart is then known by its name and version, the values by their identity."""
    assert stack.apply().returncode == 0
    chart = _chart(stack, "rancher-tracing")
    values = stack.root / "charts-out" / "east" / "rancher-tracing.values.yaml"
    stack.helm("east", "uninstall", "rancher-tracing", "-n", NAMESPACE, "--wait")
    stack.helm("east", "install", "rancher-tracing", str(chart), "-n", NAMESPACE, "-f", str(values), "--wait")
    assert stack.status("east", "rancher-tracing")["info"]["description"] == "Install complete"
    run = stack.cli("plan", "--output", "json", "--detailed-exitcode")
    assert run.returncode == 0, str(run)
    assert _releases(run.json(), "east")["rancher-tracing"]["action"] == "unchanged"
