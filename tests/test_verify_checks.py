"""The findings of ``meshcharts verify`` for what the live tests cannot easily stage: a Service that was
never installed, a host outside the cluster that does not resolve, missing and unestablished CRDs,
monitors that are missing or that no Prometheus serves, and how API errors are told apart.

The cluster is a fake with the same reads (:class:`ClusterReads`), answering with the JSON objects the
API server returns, as plain dicts.
"""

from __future__ import annotations

import email.message
import socket
from typing import Any

import pytest

from meshcharts.core.diagnostics import Location, Severity
from meshcharts.core.endpoints import parse_address
from meshcharts.core.model import External
from meshcharts.deploy.verify_findings import Findings
from meshcharts.deploy.verify_live import check_cluster
from meshcharts.deploy.verify_reads import ClusterReads, Forbidden, Unreachable
from meshcharts.kube import KubeClient, Response, Settings, TransportError
from meshcharts.deploy.verify_targets import AddressTarget, ClusterTargets, CrdTarget, DashboardTarget, MonitorSource

STACK_LINE = Location("meshcharts.yaml", 33, 3)
EXTRAS_LINE = Location("values/extras.yaml", 6, 3)


class FakeCluster(ClusterReads):
    """ClusterReads answering from dicts instead of an API server."""

    def __init__(self, services: dict[tuple[str, str], dict[str, Any]] | None = None, crds: list[dict[str, Any]] | None = None,
                 monitoring: dict[str, list[dict[str, Any]]] | None = None, *, slices: list[dict[str, Any]] | None = None,
                 pods: list[dict[str, Any]] | None = None, workloads: list[tuple[str, dict[str, Any]]] | None = None,
                 config_maps: dict[tuple[str, str], dict[str, Any]] | None = None) -> None:
        self._services = services or {}
        self._crds = crds or []
        self._monitoring = monitoring or {}
        self._slices = slices or []
        self._pods = pods or []
        self._workloads = workloads or []
        self._config_maps = config_maps or {}

    def service(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._services.get((namespace, name))

    def endpoint_slices(self, namespace: str, service: str) -> list[dict[str, Any]]:
        return self._slices

    def pods(self, namespace: str, selector: dict[str, str]) -> list[dict[str, Any]]:
        return self._pods

    def namespace_labels(self) -> dict[str, dict[str, str]]:
        return {"istio-system": {"kubernetes.io/metadata.name": "istio-system"}}

    def crds(self) -> list[dict[str, Any]]:
        return self._crds

    def monitoring_objects(self, kind: str) -> list[dict[str, Any]]:
        return self._monitoring.get(kind, [])

    def workloads(self, namespace: str) -> list[tuple[str, dict[str, Any]]]:
        return self._workloads

    def config_map(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._config_maps.get((namespace, name))


def _external(name: str, url: str) -> External:
    return External(name=name, provides=name, url=url, public_url=None, grpc=None, target_port=None, monitors={},
                    grafana_dashboards={}, clusters=("east",), location=STACK_LINE)


def _address(url: str, external: External | None = None, role: str = "prometheus") -> AddressTarget:
    parsed = parse_address(url)
    assert parsed is not None
    return AddressTarget("kiali", "istio-system", role, f"external_services.{role}.url", f"Kiali's {role}", url, parsed,
                         STACK_LINE, "derived", external)


def _run(reads: ClusterReads, targets: ClusterTargets) -> Findings:
    findings = Findings("east")
    check_cluster(reads, targets, findings)
    return findings


def test_a_url_at_a_service_that_was_never_installed() -> None:
    url = "http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:9090"
    targets = ClusterTargets("east", addresses=[_address(url, _external("prometheus", url))])
    (problem,) = _run(FakeCluster(), targets).problems
    assert problem.rule == "verify.service-missing" and problem.location == STACK_LINE
    assert problem.path == "external_services.prometheus.url" and problem.component == "kiali"
    assert "has no Service rancher-monitoring-prometheus in namespace cattle-monitoring-system" in problem.message
    assert "external.prometheus" in problem.message and problem.hint is not None and "external.prometheus.url" in problem.hint


PROMETHEUS_URL = "http://prometheus.monitoring.svc:9090"


def _service(*ports: dict[str, Any], **spec: Any) -> dict[str, Any]:
    """A Service as the API server returns it: an unnamed port has no ``name`` key."""
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "prometheus", "namespace": "monitoring"},
            "spec": {"selector": {"app": "prometheus"}, "ports": list(ports), "type": "ClusterIP", **spec}}


def test_a_service_without_the_port_lists_the_ports_it_serves() -> None:
    service = _service({"name": "web", "port": 9091, "protocol": "TCP", "targetPort": 9091}, {"port": 8080, "protocol": "TCP", "targetPort": 8080})
    findings = _run(FakeCluster({("monitoring", "prometheus"): service}), ClusterTargets("east", addresses=[_address(PROMETHEUS_URL)]))
    (problem,) = findings.problems
    assert problem.rule == "verify.service-port"
    assert problem.message == "Kiali's prometheus http://prometheus.monitoring.svc:9090: Service monitoring/prometheus serves 9091 (web), 8080, not 9090"
    assert [(check.ok, check.detail) for check in findings.checks] == [(False, "ports 9091 (web), 8080")]


def test_an_external_name_service_counts_as_reachable() -> None:
    service = {"metadata": {"name": "prometheus", "namespace": "monitoring"}, "spec": {"type": "ExternalName", "externalName": "prom.example.com"}}
    findings = _run(FakeCluster({("monitoring", "prometheus"): service}), ClusterTargets("east", addresses=[_address(PROMETHEUS_URL)]))
    assert findings.problems == []
    assert [(check.ok, check.detail) for check in findings.checks] == [(True, "ExternalName prom.example.com")]


def test_ready_endpoints_are_counted_on_the_slice_port_of_the_service_port() -> None:
    service = _service({"name": "http-web", "port": 9090, "protocol": "TCP", "targetPort": "http-web"})
    ready = {"addressType": "IPv4", "ports": [{"name": "http-web", "port": 9090, "protocol": "TCP"}],
             "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True}}, {"addresses": ["10.0.0.2"], "conditions": {"ready": False}}]}
    findings = _run(FakeCluster({("monitoring", "prometheus"): service}, slices=[ready]), ClusterTargets("east", addresses=[_address(PROMETHEUS_URL)]))
    assert findings.problems == []
    assert [(check.ok, check.detail) for check in findings.checks] == [(True, "targetPort http-web: 1 ready endpoint, 1 not ready")]


def test_a_service_without_ready_endpoints_says_what_its_pods_are() -> None:
    service = _service({"port": 9090, "protocol": "TCP"})  # no targetPort: the port itself
    pending = {"metadata": {"name": "prometheus-0"}, "status": {"phase": "Pending"}}
    findings = _run(FakeCluster({("monitoring", "prometheus"): service}, pods=[pending, pending]), ClusterTargets("east", addresses=[_address(PROMETHEUS_URL)]))
    (problem,) = findings.problems
    assert problem.rule == "verify.no-ready-endpoints"
    assert problem.message.endswith("Service monitoring/prometheus has no ready endpoints on port 9090 (targetPort 9090): 2 Pods labelled app=prometheus, none ready")
    (empty,) = _run(FakeCluster({("monitoring", "prometheus"): service}), ClusterTargets("east", addresses=[_address(PROMETHEUS_URL)])).problems
    assert empty.message.endswith(": its selector app=prometheus matches no Pod")


def _grafana_set(env: list[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """A StatefulSet as listed (no kind in a list's items) with a dashboard sidecar; valueFrom entries have no value."""
    containers = [{"name": "grafana", "image": "grafana/grafana"}, {"name": "grafana-sc-dashboard", "image": "k8s-sidecar", "env": env}]
    return "StatefulSet", {"metadata": {"name": "grafana", "namespace": "monitoring"},
                           "spec": {"selector": {"matchLabels": {"app": "grafana"}}, "serviceName": "grafana",
                                    "template": {"metadata": {"labels": {"app": "grafana", "pod-template-hash": "x"}}, "spec": {"containers": containers}}}}


def test_a_dashboard_is_read_against_the_sidecar_of_the_live_grafana_workload() -> None:
    service = {"metadata": {"name": "grafana", "namespace": "monitoring"}, "spec": {"selector": {"app": "grafana"}, "ports": [{"port": 80, "protocol": "TCP"}]}}
    env: list[dict[str, Any]] = [{"name": "LABEL", "value": "grafana_dashboard"}, {"name": "LABEL_VALUE", "value": "1"}, {"name": "NAMESPACE", "value": "ALL"},
           {"name": "SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]
    config_map = {"metadata": {"name": "istio-mesh", "namespace": "istio-system", "labels": {"grafana_dashboard": "0"}}}
    cluster = FakeCluster({("monitoring", "grafana"): service}, workloads=[("Deployment", {"metadata": {"name": "other"}, "spec": {"selector": {}, "template": {"metadata": {}, "spec": {"containers": []}}}}), _grafana_set(env)],
                          config_maps={("istio-system", "istio-mesh"): config_map})
    targets = ClusterTargets("east", dashboards=[DashboardTarget("extras", "istio-mesh", "istio-system", "dashboards.items.istio-mesh", EXTRAS_LINE)],
                             grafana_services=[("monitoring", "grafana", 80, "external grafana")])
    (problem,) = _run(cluster, targets).problems
    assert problem.rule == "verify.dashboard-not-loaded" and problem.path == "dashboards.items.istio-mesh"
    assert problem.message == ("the dashboard sidecar of StatefulSet monitoring/grafana (container grafana-sc-dashboard) never loads ConfigMap istio-system/istio-mesh: "
                               'it loads ConfigMaps labelled grafana_dashboard=1; this one carries {"grafana_dashboard": "0"}')
    assert problem.hint == 'set dashboards.sidecarLabels: {grafana_dashboard: "1"}'
    config_map["metadata"]["labels"] = {"grafana_dashboard": "1"}
    findings = _run(cluster, targets)
    assert findings.problems == []
    assert [(check.ok, check.detail) for check in findings.checks] == [(True, "loaded by StatefulSet monitoring/grafana (container grafana-sc-dashboard)")]


def test_an_external_host_that_does_not_resolve(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_such_host(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)
    findings = _run(FakeCluster(), ClusterTargets("east", addresses=[_address("https://prometheus.example.invalid/api")]))
    warning, error = findings.problems
    assert warning.rule == "verify.undeclared-external" and warning.severity is Severity.WARNING
    assert error.rule == "verify.unresolvable" and "prometheus.example.invalid does not resolve from here" in error.message
    assert [check.ok for check in findings.checks] == [False]


def test_crds_that_are_missing_or_not_established() -> None:
    crds = [{"name": "navlinks.ui.cattle.io", "group": "ui.cattle.io", "kind": "NavLink", "conditions": {"Established": "False", "NamesAccepted": "False"}}]
    targets = ClusterTargets("east", crds=[
        CrdTarget("extras", "ui.cattle.io", "NavLink", EXTRAS_LINE),
        CrdTarget("extras", "networking.istio.io", "Gateway", EXTRAS_LINE),
    ])
    established, missing = _run(FakeCluster(crds=crds), targets).problems
    assert established.rule == "verify.crd-not-established" and "navlinks.ui.cattle.io (NavLink) is not Established" in established.message
    assert missing.rule == "verify.crd-missing" and "serves no Gateway of networking.istio.io" in missing.message


def _monitor(name: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "istio-system", "labels": {"monitoring": "istio-components"},
                         "annotations": {"meta.helm.sh/release-name": "mesh-extras", "meta.helm.sh/release-namespace": "istio-system"}}}


def test_monitors_that_are_missing_or_that_no_prometheus_serves() -> None:
    source = MonitorSource("extras", "mesh-extras", "istio-system", ("ServiceMonitor", "PodMonitor"), "monitors.labels", EXTRAS_LINE)
    other_release = {**_monitor("envoy-stats-monitor"), "metadata": {**_monitor("x")["metadata"], "annotations": {"meta.helm.sh/release-name": "istio"}}}
    cluster = FakeCluster(monitoring={"ServiceMonitor": [_monitor("istio-component-monitor")], "PodMonitor": [other_release]})
    none_served, missing = _run(cluster, ClusterTargets("east", monitors=[source])).problems
    assert none_served.rule == "verify.no-prometheus" and "no Prometheus object (monitoring.coreos.com/v1) runs on the cluster" in none_served.message
    assert "ServiceMonitor istio-system/istio-component-monitor" in none_served.message
    assert missing.rule == "verify.monitor-missing" and "has no PodMonitor on the cluster" in missing.message


def test_a_prometheus_with_a_null_namespace_selector_elsewhere_is_named_with_the_field() -> None:
    prometheus = {"metadata": {"name": "k8s", "namespace": "monitoring"}, "spec": {"serviceMonitorSelector": {}}}
    cluster = FakeCluster(monitoring={"ServiceMonitor": [_monitor("istio-component-monitor")], "Prometheus": [prometheus]})
    source = MonitorSource("extras", "mesh-extras", "istio-system", ("ServiceMonitor",), "monitors.labels", EXTRAS_LINE)
    (problem,) = _run(cluster, ClusterTargets("east", monitors=[source])).problems
    assert problem.rule == "verify.monitor-not-selected" and problem.path == ""
    assert "serviceMonitorNamespaceSelector is null" in problem.message
    assert problem.hint is not None and "spec.serviceMonitorNamespaceSelector of monitoring/k8s" in problem.hint


def _Answer(status: int, reason: str, body: bytes = b"{}") -> Response:  # noqa: N802  (reads as the answer it builds)
    """What the client's transport returns: a status, a reason and the body."""
    return Response(status, reason, email.message.Message(), body)  # type: ignore[arg-type]


class _Answering(KubeClient):
    """A client whose every request gets one answer (or raises one error)."""

    def __init__(self, answer: Response | Exception) -> None:
        super().__init__(Settings(context="east", server="http://127.0.0.1:1"))
        self.answer = answer

    def request(self, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        assert kwargs["timeout"], "every read is bounded"
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_api_errors_are_told_apart() -> None:
    assert ClusterReads(_Answering(_Answer(404, "Not Found"))).service("a", "b") is None
    with pytest.raises(Forbidden, match="cannot read Service a/b: 403 Forbidden"):
        ClusterReads(_Answering(_Answer(403, "Forbidden"))).service("a", "b")
    with pytest.raises(Unreachable, match="503"):
        ClusterReads(_Answering(_Answer(503, "Service Unavailable"))).service("a", "b")
    with pytest.raises(Unreachable, match="reading Service a/b"):
        ClusterReads(_Answering(TransportError("http://127.0.0.1:1: connection refused"))).service("a", "b")
    with pytest.raises(Unreachable, match="not JSON"):
        ClusterReads(_Answering(_Answer(200, "OK", b"<html>"))).service("a", "b")
    service = ClusterReads(_Answering(_Answer(200, "OK", b'{"metadata": {"name": "b"}, "spec": {"ports": [{"port": 9090, "targetPort": 9090}]}}'))).service("a", "b")
    assert service == {"metadata": {"name": "b"}, "spec": {"ports": [{"port": 9090, "targetPort": 9090}]}}  # the server's JSON as it came
    with pytest.raises(Unreachable, match="the answer is JSON but not an object"):
        ClusterReads(_Answering(_Answer(200, "OK", b"[]"))).service("a", "b")
