"""The findings of ``meshcharts verify`` for what the live tests cannot easily stage: a Service that was
never installed, a host outside the cluster that does not resolve, missing and unestablished CRDs,
monitors that are missing or that no Prometheus serves, and how API errors are told apart.

The cluster is a fake with the same reads (:class:`ClusterReads`), answering with the Kubernetes
client's own model objects and the plain dicts it returns for custom objects.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from kubernetes import client as k8s
from urllib3.exceptions import MaxRetryError

from meshcharts.core.diagnostics import Location, Severity
from meshcharts.core.endpoints import parse_address
from meshcharts.core.model import External
from meshcharts.deploy.verify_live import Findings, check_cluster
from meshcharts.deploy.verify_reads import ClusterReads, Forbidden, Unreachable
from meshcharts.deploy.verify_targets import AddressTarget, ClusterTargets, CrdTarget, MonitorSource

STACK_LINE = Location("meshcharts.yaml", 33, 3)
EXTRAS_LINE = Location("values/extras.yaml", 6, 3)


class FakeCluster(ClusterReads):
    """ClusterReads answering from dicts instead of an API server."""

    def __init__(self, services: dict[tuple[str, str], Any] | None = None, crds: list[dict[str, Any]] | None = None,
                 monitoring: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self._services = services or {}
        self._crds = crds or []
        self._monitoring = monitoring or {}

    def service(self, namespace: str, name: str) -> Any:
        return self._services.get((namespace, name))

    def endpoint_slices(self, namespace: str, service: str) -> list[Any]:
        return []

    def pods(self, namespace: str, selector: dict[str, str]) -> list[Any]:
        return []

    def namespace_labels(self) -> dict[str, dict[str, str]]:
        return {"istio-system": {"kubernetes.io/metadata.name": "istio-system"}}

    def crds(self) -> list[dict[str, Any]]:
        return self._crds

    def monitoring_objects(self, kind: str) -> list[dict[str, Any]]:
        return self._monitoring.get(kind, [])

    def workloads(self, namespace: str) -> list[Any]:
        return []


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


class _Answer:
    """What the client's REST layer returns: a status, a reason and the body."""

    def __init__(self, status: int, reason: str, body: bytes = b"{}") -> None:
        self.status, self.reason, self._body = status, reason, body

    def read(self) -> bytes:
        return self._body


class _Answering(k8s.ApiClient):
    """An ApiClient whose every request gets one answer (or raises one error)."""

    def __init__(self, answer: _Answer | Exception) -> None:
        super().__init__(k8s.Configuration())
        self.answer = answer

    def call_api(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        assert kwargs["_request_timeout"], "every read is bounded"
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
        ClusterReads(_Answering(MaxRetryError(None, "/api", "connection refused"))).service("a", "b")  # type: ignore[arg-type]
    with pytest.raises(Unreachable, match="not JSON"):
        ClusterReads(_Answering(_Answer(200, "OK", b"<html>"))).service("a", "b")
    service = ClusterReads(_Answering(_Answer(200, "OK", b'{"metadata": {"name": "b"}, "spec": {"ports": [{"port": 9090, "targetPort": 9090}]}}'))).service("a", "b")
    assert service.metadata.name == "b" and service.spec.ports[0].port == 9090  # the client's own model
