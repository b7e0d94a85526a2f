"""Cross-release wiring: unset addresses are filled from the providers in the cluster; typed ones are
checked against them, at the file:line that typed them."""

from __future__ import annotations

import json

import pytest

import meshcharts
from meshcharts.components.kube_prometheus_stack import fullname
from tests.conftest import StackDir

KPS_STACK = """\
name: demo
clusters:
  east: {{kubernetes: "1.23"}}   # istiod 1.13.9 renders autoscaling/v2beta1 and policy/v1beta1, gone in 1.25
components:
  monitoring:
    type: kube-prometheus-stack
    version: 45.1.1
    release: {release}
    namespace: monitoring
  kiali:
    type: kiali-server
    version: {kiali}
  tracing:
    type: rancher-tracing
    version: 100.0.0
  istiod:
    type: istiod
    version: 1.13.9
"""


def _stack(stack_dir: StackDir, release: str = "prom", kiali: str = "1.89.3") -> StackDir:
    stack_dir.write("meshcharts.yaml", KPS_STACK.format(release=release, kiali=kiali))
    return stack_dir


def _errors(stack: StackDir) -> list[dict[str, object]]:
    result = stack.cli("validate", "-o", "json")
    document = json.loads(result.output)
    return document["errors"] + document["warnings"]


@pytest.mark.parametrize(
    ("release", "expected"),
    [
        ("prom", "prom-kube-prometheus-stack"),
        ("prometheus", "prometheus-kube-prometheus"),
        ("kube-prometheus-stack", "kube-prometheus-stack"),
        ("monitoring", "monitoring-kube-prometheus"),
    ],
)
def test_kube_prometheus_stack_fullname_truncates_to_26(release: str, expected: str) -> None:
    assert fullname(release, {}) == expected


def test_rancher_monitoring_name_override() -> None:
    assert fullname("rancher-monitoring", {"nameOverride": "rancher-monitoring"}) == "rancher-monitoring"


def test_kiali_1x_is_wired_to_kps_and_rancher_tracing(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir, release="prometheus")
    project = meshcharts.open_project(stack.root)
    services = project.compose("east", "kiali").values()["external_services"]
    assert services["prometheus"]["url"] == "http://prometheus-kube-prometheus-prometheus.monitoring.svc:9090"
    assert services["grafana"]["in_cluster_url"] == "http://prometheus-grafana.monitoring.svc:80"
    assert services["tracing"]["in_cluster_url"] == "http://tracing.istio-system.svc:16686/jaeger"
    assert services["tracing"]["use_grpc"] is False
    assert services["tracing"]["enabled"] is True
    assert services["tracing"]["provider"] == "jaeger"  # Kiali 1.75+ knows providers
    assert _errors(stack) == []


def test_kiali_2x_uses_internal_url(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir, kiali="2.29.0")
    services = meshcharts.open_project(stack.root).compose("east", "kiali").values()["external_services"]
    assert services["grafana"] == {"internal_url": "http://prom-grafana.monitoring.svc:80"}
    assert services["tracing"]["internal_url"] == "http://tracing.istio-system.svc:16686/jaeger"
    assert "in_cluster_url" not in services["tracing"]


def test_explain_names_the_provider(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir)
    result = stack.cli("explain", "east", "kiali", "external_services.prometheus.url")
    assert result.output.splitlines()[1] == (
        "    source:   derived from component monitoring (prom-kube-prometheus-stack-prometheus.monitoring:9090, HTTP)"
    )


def test_istiod_zipkin_address_is_derived(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir)
    mesh = meshcharts.open_project(stack.root).compose("east", "istiod").values()["meshConfig"]
    assert mesh["defaultConfig"]["tracing"]["zipkin"]["address"] == "zipkin.istio-system.svc:9411"
    assert mesh["enableTracing"] is True


@pytest.mark.parametrize(
    ("typed", "rule", "message", "hint"),
    [
        ("http://prom-kube-prometheus-stack-prometheus.monitoring.svc:9091", "wiring.wrong-port", "listens on port 9090, not 9091", "use http://prom-kube-prometheus-stack-prometheus.monitoring.svc:9090"),
        ("http://prom-kube-prometheus-stack-prometheus.istio-system:9090", "wiring.wrong-namespace", "is in namespace monitoring, not istio-system", "use http://prom-kube-prometheus-stack-prometheus.monitoring.svc:9090"),
        ("http://prometheus.istio-system:9090", "wiring.unknown-host", "prometheus.istio-system is not a Service anything in the stack creates", "use http://prom-kube-prometheus-stack-prometheus.monitoring.svc:9090"),
    ],
)
def test_typed_prometheus_url_is_checked(stack_dir: StackDir, typed: str, rule: str, message: str, hint: str) -> None:
    stack = _stack(stack_dir)
    stack.write("values/kiali.yaml", f"external_services:\n  prometheus:\n    url: {typed}\n")
    errors = _errors(stack)
    assert len(errors) == 1, errors
    error = errors[0]
    assert (error["file"], error["line"], error["column"], error["rule"]) == ("values/kiali.yaml", 3, 10, rule)
    assert message in str(error["message"]) and hint in str(error["message"])


def test_prometheus_operated_is_accepted(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir)
    stack.write("values/kiali.yaml", "external_services:\n  prometheus:\n    url: http://prometheus-operated.monitoring:9090\n")
    assert _errors(stack) == []


def test_changing_a_provider_port_breaks_the_consumer_that_typed_it(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir)
    stack.write("values/kiali.yaml", "external_services:\n  prometheus:\n    url: http://prom-kube-prometheus-stack-prometheus.monitoring:9090\n")
    assert _errors(stack) == []
    stack.write("values/monitoring.yaml", "prometheus:\n  service:\n    port: 9091\n")
    errors = _errors(stack)
    assert [(e["file"], e["line"], e["rule"]) for e in errors] == [("values/kiali.yaml", 3, "wiring.wrong-port")]


def test_tracing_path_and_grpc_are_checked(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir)
    stack.write("values/kiali.yaml", "external_services:\n  tracing:\n    in_cluster_url: http://tracing.istio-system:16686\n")
    errors = _errors(stack)
    assert [e["rule"] for e in errors] == ["wiring.wrong-path"]
    assert "tracing serves under /jaeger, not /" in str(errors[0]["message"])
    stack.write("values/kiali.yaml", "external_services:\n  tracing:\n    in_cluster_url: http://tracing.istio-system:16686/jaeger\n    use_grpc: true\n")
    errors = _errors(stack)
    assert [(e["line"], e["rule"]) for e in errors] == [(4, "wiring.grpc-mismatch")]
    assert "serves HTTP only" in str(errors[0]["message"])


def test_unset_use_grpc_is_derived_false_for_a_typed_http_url(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir)
    stack.write("values/kiali.yaml", "external_services:\n  tracing:\n    in_cluster_url: http://tracing.istio-system:16686/jaeger\n")
    assert _errors(stack) == []
    tracing = meshcharts.open_project(stack.root).compose("east", "kiali").values()["external_services"]["tracing"]
    assert tracing["use_grpc"] is False


def test_kiali_without_any_prometheus_is_reported(stack_dir: StackDir) -> None:
    """Seed 003: Kiali installed, no Prometheus anywhere: "Kiali shows no traffic"."""
    stack_dir.write("meshcharts.yaml", "name: demo\nclusters: {east: {}}\ncomponents:\n  kiali: {type: kiali-server, version: 1.45.0}\n")
    errors = _errors(stack_dir)
    assert [e["rule"] for e in errors] == ["wiring.no-provider"]
    assert "its default http://prometheus.istio-system:9090 points at no Service the stack creates" in str(errors[0]["message"])
    assert (errors[0]["file"], errors[0]["line"]) == ("meshcharts.yaml", 4)


def test_url_outside_the_stack_is_a_warning(stack_dir: StackDir) -> None:
    """Seed 004 points Kiali at a Prometheus installed by other means."""
    stack_dir.write("meshcharts.yaml", "name: demo\nclusters: {east: {}}\ncomponents:\n  kiali: {type: kiali-server, version: 1.89.3}\n")
    stack_dir.write("values/kiali.yaml", "external_services:\n  prometheus:\n    url: http://prometheus-service.monitoring.svc.cluster.local:8082/\n")
    result = stack_dir.cli("validate")
    assert result.exit_code == 0
    assert "warning: Kiali's Prometheus points outside the stack (prometheus-service.monitoring.svc.cluster.local); declare it under external:" in result.output


def test_declared_external_matches(stack_dir: StackDir) -> None:
    stack_dir.write(
        "meshcharts.yaml",
        "name: demo\nclusters: {east: {}}\ncomponents:\n  kiali: {type: kiali-server, version: 1.89.3}\n"
        "external:\n  prometheus: {url: 'http://prometheus-service.monitoring.svc.cluster.local:8082'}\n",
    )
    stack_dir.write("values/kiali.yaml", "external_services:\n  prometheus:\n    url: http://prometheus-service.monitoring:8082\n")
    assert _errors(stack_dir) == []
    stack_dir.write("values/kiali.yaml", "external_services:\n  prometheus:\n    url: http://prometheus-service.monitoring:9090\n")
    assert [e["rule"] for e in _errors(stack_dir)] == ["wiring.wrong-port"]


def test_two_prometheus_servers_must_be_chosen(stack_dir: StackDir) -> None:
    stack_dir.write(
        "meshcharts.yaml",
        "name: demo\nclusters: {east: {}}\ncomponents:\n  kiali: {type: kiali-server, version: 1.89.3}\n"
        "  prom-a: {type: kube-prometheus-stack, version: 45.1.1, release: a}\n"
        "  prom-b: {type: kube-prometheus-stack, version: 45.1.1, release: b}\n",
    )
    errors = _errors(stack_dir)
    assert "wiring.ambiguous" in [e["rule"] for e in errors]


def test_seed_000_jaeger_context_path_is_reported(minimal_stack: StackDir) -> None:
    minimal_stack.write("values/tracing.yaml", 'jaeger:\n  contextPath: "/jaeger"\n')
    result = minimal_stack.cli("validate")
    assert result.exit_code == 1
    assert "values/tracing.yaml:2:3: east, west/tracing: jaeger.contextPath: rancher-tracing reads the top-level contextPath" in result.output
    assert "(use contextPath)" in result.output


def test_zipkin_port_other_than_9411_is_an_error(minimal_stack: StackDir) -> None:
    minimal_stack.write("values/tracing.yaml", "zipkin:\n  queryPort: 9412\n")
    result = minimal_stack.cli("validate")
    assert "values/tracing.yaml:2:14: east, west/tracing: zipkin.queryPort: the Jaeger container receives zipkin spans on 9411 only" in result.output


def test_long_fullname_override_warns(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir)
    stack.write("values/monitoring.yaml", "fullnameOverride: company-prometheus-monitoring-stack\n")
    result = stack.cli("validate")
    assert "warning: fullnameOverride is cut to 26 characters by the chart: Services are named company-prometheus-monitor-*" in result.output
    services = meshcharts.open_project(stack.root).compose("east", "kiali").values()["external_services"]
    assert services["prometheus"]["url"] == "http://company-prometheus-monitor-prometheus.monitoring.svc:9090"


def test_typed_use_grpc_with_a_derived_url_is_checked(stack_dir: StackDir) -> None:
    """Bug: `use_grpc: true` alone passed, though the derived URL is rancher-tracing's HTTP-only port."""
    stack = _stack(stack_dir)
    stack.write("values/kiali.yaml", "external_services:\n  tracing:\n    use_grpc: true\n")
    errors = _errors(stack)
    assert [(e["line"], e["rule"]) for e in errors] == [(3, "wiring.grpc-mismatch")]
    assert "serves HTTP only" in str(errors[0]["message"])


def test_declared_external_and_an_in_stack_provider_are_ambiguous(stack_dir: StackDir) -> None:
    """Bug: an in-stack Prometheus silently won over the one declared under external:."""
    stack_dir.write(
        "meshcharts.yaml",
        KPS_STACK.format(release="prom", kiali="1.89.3") + "external:\n  prometheus: {url: 'http://prometheus-service.monitoring:8082'}\n",
    )
    assert "wiring.ambiguous" in [e["rule"] for e in _errors(stack_dir)]
    stack_dir.write("values/kiali.yaml", "external_services:\n  prometheus:\n    url: http://prometheus-service.monitoring:8082\n")
    assert _errors(stack_dir) == []


def test_zipkin_address_naming_the_query_service_says_so(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir)
    stack.write("values/istiod.yaml", "meshConfig:\n  defaultConfig:\n    tracing:\n      zipkin:\n        address: tracing.istio-system.svc:16686\n")
    errors = _errors(stack)
    assert [e["rule"] for e in errors] == ["wiring.wrong-service"]
    assert "tracing.istio-system is the tracing Service of component tracing, not a zipkin endpoint (use zipkin.istio-system.svc:9411)" in str(errors[0]["message"])


def test_zipkin_address_written_as_url_gets_a_hint(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir)
    stack.write("values/istiod.yaml", "meshConfig:\n  defaultConfig:\n    tracing:\n      zipkin:\n        address: http://zipkin.istio-system:9411/api/v2/spans\n")
    errors = _errors(stack)
    assert [e["rule"] for e in errors] == ["wiring.bad-address"]
    assert "is host:port, without scheme or path (use zipkin.istio-system.svc:9411)" in str(errors[0]["message"])
