"""``meshcharts verify`` of the bundled example on the live clusters, through the real CLI.

The example wires Kiali to Rancher's monitoring (``external: prometheus/grafana`` in
cattle-monitoring-system), which Rancher installs outside the stack. The module installs it the way
Rancher does: kube-prometheus-stack (the stand-in, with the real chart's Services, Prometheus object
and selectors) as release ``rancher-monitoring`` with ``nameOverride: rancher-monitoring`` and the
monitor selectors Rancher sets (``*SelectorNilUsesHelmValues: false``, so ``{}``: every monitor).
Then verify must pass, and find each fault the write-ups debugged by hand: a Kiali URL whose Service
has no ready endpoints, a Prometheus whose selectors leave Istio's monitors out, a cluster that does
not answer.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from meshcharts.sandbox import seed
from tests.live.conftest import LIVE_HELM, LiveClusters, helm_for
from tests.live.example import CLUSTERS, NAMESPACE, ExampleStack, wait_for

pytestmark = pytest.mark.live

MONITORING = "cattle-monitoring-system"
PROMETHEUS_SERVICE = "rancher-monitoring-prometheus"
PROMETHEUS_SET = "prometheus-rancher-monitoring-prometheus"  # the StatefulSet the operator (here: the stand-in) runs
#: What rancher-monitoring sets so its Prometheus scrapes every monitor (Rancher's values for the chart).
RANCHER_SELECTORS = (
    "prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues=false",
    "prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues=false",
)


@dataclass
class Verified:
    stack: ExampleStack
    live: LiveClusters
    chart: Path  # the kube-prometheus-stack stand-in installed as rancher-monitoring

    def api(self, cluster: str) -> client.ApiClient:
        return seed.api_client(self.live.kubeconfig, self.stack.contexts[cluster])

    def install_monitoring(self, cluster: str, *settings: str) -> None:
        args = ["upgrade", "-i", "rancher-monitoring", str(self.chart), "-n", MONITORING, "--create-namespace",
                "--set", "nameOverride=rancher-monitoring", "--wait", "--timeout", "120s"]
        for setting in settings:
            args += ["--set", setting]
        self.stack.helm(cluster, *args)
        self.wait_ready(cluster, MONITORING, PROMETHEUS_SERVICE)

    def ready_endpoints(self, cluster: str, namespace: str, service: str) -> int:
        api = self.api(cluster)
        try:
            slices = client.DiscoveryV1Api(api).list_namespaced_endpoint_slice(namespace, label_selector=f"kubernetes.io/service-name={service}")
        finally:
            api.close()
        return sum(1 for item in slices.items for endpoint in item.endpoints or [] if endpoint.conditions is None or endpoint.conditions.ready is not False)

    def wait_ready(self, cluster: str, namespace: str, service: str) -> None:
        wait_for(lambda: self.ready_endpoints(cluster, namespace, service) > 0, f"ready endpoints of {cluster} {namespace}/{service}")

    def scale(self, cluster: str, replicas: int) -> None:
        api = self.api(cluster)
        try:
            client.AppsV1Api(api).patch_namespaced_stateful_set_scale(PROMETHEUS_SET, MONITORING, {"spec": {"replicas": replicas}})
        finally:
            api.close()


@pytest.fixture(scope="module")
def verified(tmp_path_factory: pytest.TempPathFactory, live_clusters: LiveClusters, standin_charts: Path, helm_home: dict[str, str]) -> Iterator[Verified]:
    """The example applied to both clusters, with Rancher's monitoring installed beside it."""
    if live_clusters.sandbox is None:
        pytest.skip("installs a stand-in rancher-monitoring into cattle-monitoring-system: sandbox only")
    stack = ExampleStack(tmp_path_factory.mktemp("verify"), live_clusters, standin_charts, helm_for(LIVE_HELM), helm_home)
    stack.uninstall()
    stack.pull()
    run = stack.apply()
    assert run.returncode == 0, run
    result = Verified(stack, live_clusters, standin_charts / "kube-prometheus-stack-45.1.1.tgz")
    try:
        for cluster in CLUSTERS:
            result.install_monitoring(cluster, *RANCHER_SELECTORS)
            result.wait_ready(cluster, NAMESPACE, "tracing")
        yield result
    finally:
        for cluster in CLUSTERS:
            stack.helm(cluster, "uninstall", "rancher-monitoring", "-n", MONITORING, "--ignore-not-found", "--wait")


def test_verify_passes_on_the_applied_example(verified: Verified) -> None:
    run = verified.stack.cli("verify")
    assert run.returncode == 0, run
    lines = run.stdout.splitlines()
    for cluster in CLUSTERS:
        assert f"{cluster}: ok (3 addresses, 2 monitors, 2 CRDs, 0 dashboards checked)" in lines, run
    assert run.helm_calls == (), "verify only reads the clusters"


#: ``meshcharts ARGS`` as ``python -m meshcharts`` runs it, writing the names of the modules loaded by then to a file at exit.
_MODULES_AT_EXIT = """
import atexit, json, sys
report = sys.argv.pop(1)
atexit.register(lambda: open(report, "w", encoding="utf-8").write(json.dumps(sorted(sys.modules))))
from meshcharts.cli import main
main()
"""


@pytest.mark.parametrize("arguments", [("verify",), ("plan", "--detailed-exitcode")], ids=["verify", "plan"])
def test_the_live_wiring_is_read_without_the_clients_typed_models(verified: Verified, tmp_path: Path, arguments: tuple[str, ...]) -> None:
    """verify reads the API server's JSON as plain dicts: loading the client's model classes was a tenth of a second of every plan."""
    report = tmp_path / "modules.json"
    run = subprocess.run([sys.executable, "-c", _MODULES_AT_EXIT, str(report), *arguments], cwd=verified.stack.root, env=verified.stack.env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    modules = json.loads(report.read_text(encoding="utf-8"))
    assert "meshcharts.deploy.verify_live" in modules  # the live wiring was read
    assert [name for name in modules if name.startswith("kubernetes.client.models.")] == []
    lines = run.stdout.splitlines()
    if arguments[0] == "verify":
        for cluster in CLUSTERS:
            assert f"{cluster}: ok (3 addresses, 2 monitors, 2 CRDs, 0 dashboards checked)" in lines, run.stdout
    else:
        assert "live wiring" not in run.stdout and lines[-1].startswith("No changes"), run.stdout


def test_verify_json_lists_what_was_checked(verified: Verified) -> None:
    run = verified.stack.cli("verify", "--cluster", "east", "--output", "json")
    assert run.returncode == 0, run
    document = run.json()
    assert document["ok"] is True and list(document["clusters"]) == ["east"]
    checks = {(item["kind"], item["subject"]): item for item in document["clusters"]["east"]["checks"]}
    prometheus = checks[("address", f"external_services.prometheus.url -> Service {MONITORING}/{PROMETHEUS_SERVICE}:9090")]
    assert prometheus["ok"] and "ready endpoint" in prometheus["detail"]
    monitor = checks[("monitor", "ServiceMonitor istio-system/istio-component-monitor")]
    assert monitor["ok"] and monitor["detail"] == f"selected by Prometheus {MONITORING}/rancher-monitoring-prometheus"
    assert checks[("crd", "NavLink (ui.cattle.io)")]["ok"]


def test_a_kiali_url_whose_service_has_no_ready_endpoints_is_found(verified: Verified) -> None:
    """Rancher's Prometheus scaled to zero on west: Kiali's derived URL leads nowhere (seed 003's symptom)."""
    verified.scale("west", 0)
    try:
        wait_for(lambda: verified.ready_endpoints("west", MONITORING, PROMETHEUS_SERVICE) == 0, "west's Prometheus endpoints to go")
        run = verified.stack.cli("verify")
        assert run.returncode == 1, run
        (line,) = [line for line in run.stdout.splitlines() if "verify.no-ready-endpoints" in line or "no ready endpoints" in line]
        # At the stack file line the URL was derived from (external: prometheus), naming the key and the Service.
        assert line.startswith("meshcharts.yaml:33:3: west/kiali: external_services.prometheus.url: "), line
        assert f"Service {MONITORING}/{PROMETHEUS_SERVICE} has no ready endpoints on port 9090" in line
        assert "matches no Pod" in line or "none ready" in line
        assert "east: ok" in run.stdout and "west: 1 problem" in run.stdout
    finally:
        verified.scale("west", 1)
        verified.wait_ready("west", MONITORING, PROMETHEUS_SERVICE)


def test_a_url_at_a_service_without_pods_names_the_key_its_file_line_and_the_service(verified: Verified) -> None:
    stack = verified.stack
    api = verified.api("east")
    service = client.V1Service(
        metadata=client.V1ObjectMeta(name="grafana-nobody", namespace=NAMESPACE),
        spec=client.V1ServiceSpec(selector={"app": "nobody-runs-this"}, ports=[client.V1ServicePort(name="http", port=3000, target_port=3000)]),
    )
    core = client.CoreV1Api(api)
    core.create_namespaced_service(NAMESPACE, service)
    layer = stack.root / "values/clusters/east/kiali.yaml"
    before = layer.read_text(encoding="utf-8")
    try:
        stack.edit("values/clusters/east/kiali.yaml", lambda text: text + "external_services:\n  grafana:\n    in_cluster_url: http://grafana-nobody.istio-system:3000\n")
        line_number = before.count("\n") + 3
        run = stack.cli("verify", "--cluster", "east")
        assert run.returncode == 1, run
        (line,) = [line for line in run.stdout.splitlines() if "grafana-nobody" in line]
        assert line.startswith(f"values/clusters/east/kiali.yaml:{line_number}:21: east/kiali: external_services.grafana.in_cluster_url: "), line
        assert "Service istio-system/grafana-nobody has no ready endpoints on port 3000" in line
        assert "its selector app=nobody-runs-this matches no Pod" in line
        # ...and a port the Service does not have is its own finding.
        stack.write("values/clusters/east/kiali.yaml", before + "external_services:\n  grafana:\n    in_cluster_url: http://grafana-nobody.istio-system:80\n")
        run = stack.cli("verify", "--cluster", "east", "--output", "json")
        assert run.returncode == 1, run
        (problem,) = run.json()["clusters"]["east"]["problems"]
        assert problem["rule"] == "verify.service-port" and problem["path"] == "external_services.grafana.in_cluster_url"
        assert "serves 3000 (http), not 80" in problem["message"]
    finally:
        layer.write_text(before, encoding="utf-8")
        core.delete_namespaced_service("grafana-nobody", NAMESPACE)
        api.close()


def test_a_prometheus_whose_selector_leaves_istios_monitors_out_is_reported(verified: Verified) -> None:
    """kube-prometheus-stack's default (release=<its release>) on east: the ServiceMonitor is never scraped."""
    verified.install_monitoring("east")  # the chart's defaults: *SelectorNilUsesHelmValues true
    try:
        run = verified.stack.cli("verify", "--cluster", "east")
        assert run.returncode == 1, run
        found = [line for line in run.stdout.splitlines() if "does not select" in line]
        assert len(found) == 2, run  # the example makes both monitors ServiceMonitors (envoy: kind ServiceMonitor)
        (line,) = [line for line in found if "istio-component-monitor" in line]
        assert line.startswith("values/extras.yaml:6:3: east/extras: monitors.labels: "), line
        assert f"Prometheus {MONITORING}/rancher-monitoring-prometheus" in line
        assert "ServiceMonitor istio-system/istio-component-monitor" in line
        assert '"release": "rancher-monitoring"' in line and "Kiali shows no traffic" in line
        assert line.endswith("(add release: rancher-monitoring to monitors.labels)"), line
    finally:
        verified.install_monitoring("east", *RANCHER_SELECTORS)


@pytest.fixture()
def hung_port() -> Iterator[int]:
    """A loopback port that accepts connections and never answers: a hung (SIGSTOPped) API server as the
    client sees it, since the kernel still completes the TCP handshake."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield int(server.getsockname()[1])
    finally:
        server.close()


@pytest.mark.parametrize("how", ["refused", "hung"])
def test_an_unreachable_cluster_is_one_line_and_the_other_is_still_verified(verified: Verified, tmp_path: Path, hung_port: int, how: str) -> None:
    config = yaml.safe_load(verified.live.kubeconfig.read_text(encoding="utf-8"))
    west_context = next(item for item in config["contexts"] if item["name"] == verified.stack.contexts["west"])
    port = 1 if how == "refused" else hung_port  # nothing listens on port 1
    config["clusters"].append({"name": "dead", "cluster": {"server": f"https://127.0.0.1:{port}", "insecure-skip-tls-verify": True}})
    west_context["context"]["cluster"] = "dead"
    broken = tmp_path / "kubeconfig"
    broken.write_text(yaml.safe_dump(config), encoding="utf-8")
    broken.chmod(0o600)
    run = verified.stack.cli("verify", "--kubeconfig", str(broken), timeout=60)  # bounded: the probe gives up after 5 s + 10 s
    assert run.returncode == 1, run
    west = [line for line in run.stdout.splitlines() if "west" in line]
    assert len(west) == 1, run
    assert "west: cluster west (context" in west[0] and "does not answer" in west[0], west
    assert ("refused" if how == "refused" else "timed out") in west[0].lower(), west
    assert "east: ok" in run.stdout



def _sidecar_env(namespace: str) -> list[dict[str, str]]:
    """The env the grafana chart gives its dashboard sidecar (rancher-monitoring 104.x: grafana_dashboard=1)."""
    return [{"name": "LABEL", "value": "grafana_dashboard"}, {"name": "LABEL_VALUE", "value": "1"},
            {"name": "NAMESPACE", "value": namespace}, {"name": "RESOURCE", "value": "both"}]


def test_dashboards_are_checked_against_the_live_grafana_sidecar(verified: Verified) -> None:
    """The stand-in Grafana runs no sidecar (nothing in the sandbox would run it); the test adds the
    container the grafana chart renders, as rancher-monitoring runs it, and then moves its search namespace."""
    stack = verified.stack
    stack.edit("values/extras.yaml", lambda text: text + "dashboards:\n  items:\n    istio-verify:\n      json: '{\"title\": \"verify\"}'\n")
    line_number = (stack.root / "values/extras.yaml").read_text(encoding="utf-8").count("\n") - 1
    run = stack.apply("--cluster", "east")
    assert run.returncode == 0, run
    run = stack.cli("verify", "--cluster", "east")
    assert run.returncode == 1, run
    (line,) = [line for line in run.stdout.splitlines() if "istio-verify" in line]
    assert line.startswith(f"values/extras.yaml:{line_number}:5: east/extras: dashboards.items.istio-verify: "), line
    assert f"Deployment {MONITORING}/rancher-monitoring-grafana runs no dashboard sidecar" in line
    api = verified.api("east")
    apps = client.AppsV1Api(api)
    try:
        sidecar = {"name": "grafana-sc-dashboard", "image": "quay.io/kiwigrid/k8s-sidecar:1.22.0", "env": _sidecar_env("ALL")}
        apps.patch_namespaced_deployment("rancher-monitoring-grafana", MONITORING, [{"op": "add", "path": "/spec/template/spec/containers/-", "value": sidecar}])
        run = stack.cli("verify", "--cluster", "east")
        assert run.returncode == 0, run
        assert "east: ok (3 addresses, 2 monitors, 2 CRDs, 1 dashboard checked)" in run.stdout.splitlines(), run
        # rancher-monitoring from 57.x on searches cattle-dashboards only.
        template = apps.read_namespaced_deployment("rancher-monitoring-grafana", MONITORING).spec.template
        assert template.spec is not None
        containers = template.spec.containers
        index = [container.name for container in containers].index("grafana-sc-dashboard")
        apps.patch_namespaced_deployment("rancher-monitoring-grafana", MONITORING, [{"op": "replace", "path": f"/spec/template/spec/containers/{index}/env", "value": _sidecar_env("cattle-dashboards")}])
        run = stack.cli("verify", "--cluster", "east")
        assert run.returncode == 1, run
        (line,) = [line for line in run.stdout.splitlines() if "istio-verify" in line]
        assert f"never loads ConfigMap {MONITORING}/istio-verify: it searches namespace cattle-dashboards, not {MONITORING}" in line
        assert line.endswith("(set dashboards.namespace: cattle-dashboards)"), line
    finally:
        api.close()
