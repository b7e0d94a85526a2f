"""The stand-ins render the real charts' Services, Pod ports, Kiali and mesh settings and CRDs.

The facts are stated here as data, each with the reference file it comes from (under
../shared/reference/charts/, gathered from the real charts); test_facts_agree_with_the_reference
checks this data against those files where they are present. The rendering tests need only helm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.standin_helpers import (  # noqa: F401  (fixtures)
    Helm,
    crds,
    helm,
    pod_templates,
    service_ports,
    standins,
)

pytestmark = pytest.mark.helm

Ports = list[tuple[str, int, int | str]]
KIALI: Ports = [("http", 20001, 20001), ("http-metrics", 9090, 9090)]
KIALI_TLS: Ports = [("tcp", 20001, 20001), ("http-metrics", 9090, 9090)]
ISTIOD: Ports = [("grpc-xds", 15010, 15010), ("https-dns", 15012, 15012), ("https-webhook", 443, 15017), ("http-monitoring", 15014, 15014)]
TRACING: dict[str, Ports] = {
    "tracing": [("http-query", 16686, 16686)],
    "zipkin": [("http-query", 9411, 9411)],
    "jaeger-collector": [("jaeger-collector-http", 14268, 14268), ("jaeger-collector-grpc", 14250, 14250)],
}


def kps_services(fullname: str, grafana: str, reloader: bool, grafana_target: int | str, operator: Ports | None = None) -> dict[str, Ports]:
    """kube-prometheus-stack's Services for a fullname (45.x: no reloader-web ports; 88.x: both have one)."""
    extra: Ports = [("reloader-web", 8080, "reloader-web")] if reloader else []
    return {
        f"{fullname}-prometheus": [("http-web", 9090, 9090), *extra],
        f"{fullname}-alertmanager": [("http-web", 9093, 9093), *extra],
        f"{fullname}-operator": operator or [("https", 443, "https")],
        grafana: [("http-web", 80, grafana_target)],
        # NOT the chart's: what the prometheus-operator creates, which the stand-in renders itself
        "prometheus-operated": [("http-web", 9090, "http-web")],
        "alertmanager-operated": [("http-web", 9093, "http-web"), ("tcp-mesh", 9094, 9094), ("udp-mesh", 9094, 9094)],
    }


# (stand-in, release, values, Service name -> [(port name, port, targetPort)])
SERVICE_FACTS: list[tuple[str, str, dict[str, Any], dict[str, Ports]]] = [
    # rancher-kiali-server/100.0.0+up1.35.0/SERVICES.md: "kiali" whatever the release; tcp with a serving cert
    ("rancher-kiali-server-100.0.0+up1.35.0", "rancher-kiali-server", {}, {"kiali": KIALI}),
    ("rancher-kiali-server-100.0.0+up1.35.0", "x", {"identity": {"cert_file": "/kiali-cert/tls.crt"}}, {"kiali": KIALI_TLS}),
    ("rancher-kiali-server-100.0.0+up1.35.0", "x", {"server": {"metrics_enabled": False}}, {"kiali": KIALI[:1]}),
    # kiali-server/1.45.0/SERVICES.md: the legacy fullnameOverride rule, metrics under server.metrics_port
    ("kiali-server-1.45.0", "foo", {}, {"kiali": KIALI}),
    ("kiali-server-1.45.0", "foo", {"fullnameOverride": "my-kiali"}, {"my-kiali": KIALI}),
    ("kiali-server-1.45.0", "foo", {"deployment": {"instance_name": "other"}}, {"other": KIALI}),
    # kiali-server/1.89.3/SERVICES.md: the metrics port moved to server.observability.metrics
    ("kiali-server-1.89.3", "foo", {}, {"kiali": KIALI}),
    ("kiali-server-1.89.3", "foo", {"server": {"observability": {"metrics": {"port": 9091}}, "metrics_port": 1}},
     {"kiali": [KIALI[0], ("http-metrics", 9091, 9091)]}),
    # kiali-server/2.29.0/SERVICES.md: fullnameOverride is gone; tcp and tcp-metrics with a certificate
    ("kiali-server-2.29.0", "foo", {"fullnameOverride": "ignored"}, {"kiali": KIALI}),
    ("kiali-server-2.29.0", "foo", {"identity": {"cert_file": "/c"}}, {"kiali": [KIALI_TLS[0], ("tcp-metrics", 9090, 9090)]}),
    # rancher-tracing/100.0.0/SERVICES.md: three hard-coded names, no 16685 gRPC query port
    ("rancher-tracing-100.0.0", "rancher-tracing", {}, TRACING),
    ("rancher-tracing-100.0.0", "jaeger", {"fullnameOverride": "x", "nameOverride": "y"}, TRACING),
    # kube-prometheus-stack/45.1.1/SERVICES.md: fullname cut to 26 characters, Grafana 80 -> 3000
    ("kube-prometheus-stack-45.1.1", "prom", {}, kps_services("prom-kube-prometheus-stack", "prom-grafana", False, 3000)),
    ("kube-prometheus-stack-45.1.1", "prometheus", {}, kps_services("prometheus-kube-prometheus", "prometheus-grafana", False, 3000)),
    ("kube-prometheus-stack-45.1.1", "kps-very-long-release-name", {},  # the cut drops all of "-kube-prometheus-stack"
     kps_services("kps-very-long-release-name", "kps-very-long-release-name-grafana", False, 3000)),
    ("kube-prometheus-stack-45.1.1", "rancher-monitoring", {"nameOverride": "rancher-monitoring"},
     kps_services("rancher-monitoring", "rancher-monitoring-grafana", False, 3000)),
    ("kube-prometheus-stack-45.1.1", "kps", {"prometheusOperator": {"tls": {"enabled": False}}},
     kps_services("kps-kube-prometheus-stack", "kps-grafana", False, 3000, operator=[("http", 8080, "http")])),
    # kube-prometheus-stack/88.5.3/SERVICES.md: reloader-web 8080 on Prometheus and Alertmanager; Grafana by port name
    ("kube-prometheus-stack-88.5.3", "prom", {}, kps_services("prom-kube-prometheus-stack", "prom-grafana", True, "grafana")),
    ("kube-prometheus-stack-88.5.3", "kube-prometheus-stack", {},
     kps_services("kube-prometheus-stack", "kube-prometheus-stack-grafana", True, "grafana")),
    # istio-istiod/1.13.9/SERVICES.md and 1.30.3/SERVICES.md: istiod[-<revision>], four ports
    ("istiod-1.13.9", "istiod", {}, {"istiod": ISTIOD}),
    ("istiod-1.13.9", "istiod", {"revision": "canary"}, {"istiod-canary": ISTIOD}),
    ("istiod-1.30.3", "istiod", {}, {"istiod": ISTIOD}),
    ("istiod-1.30.3", "istiod", {"revisionTags": ["prod"]}, {"istiod": ISTIOD, "istiod-revision-tag-prod": ISTIOD}),
]


@pytest.mark.parametrize(("chart", "release", "values", "expected"), SERVICE_FACTS)
def test_renders_the_real_services(
    helm: Helm, standins: dict[str, Path], chart: str, release: str, values: dict[str, Any], expected: dict[str, Ports]  # noqa: F811
) -> None:
    assert service_ports(helm.template(standins[chart], release, "istio-system", values)) == expected


# (stand-in, Pod labels a selector relies on, container port name -> number); from the same SERVICES.md files
POD_FACTS = [
    ("rancher-kiali-server-100.0.0+up1.35.0", {"app.kubernetes.io/name": "kiali", "app": "kiali"}, {"api-port": 20001, "http-metrics": 9090}),
    ("kiali-server-2.29.0", {"app.kubernetes.io/name": "kiali", "app.kubernetes.io/instance": "kiali"},
     {"api-port": 20001, "http-metrics": 9090}),
    ("rancher-tracing-100.0.0", {"app": "jaeger"}, {}),  # the real chart declares no container ports
    ("istiod-1.13.9", {"app": "istiod", "istio": "pilot"}, {}),
    ("istiod-1.30.3", {"app": "istiod", "istio": "pilot"}, {"http-debug": 8080, "grpc-xds": 15010, "http-monitoring": 15014}),
    ("kube-prometheus-stack-88.5.3", {"app.kubernetes.io/name": "grafana"}, {"grafana": 3000}),
    # the operator's Pod for the Prometheus named <fullname>-prometheus ("release-kube-prometheus-stack" cut to 26)
    ("kube-prometheus-stack-88.5.3",
     {"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": "release-kube-prometheus-st-prometheus"},
     {"http-web": 9090, "reloader-web": 8080}),
]


@pytest.mark.parametrize(("chart", "labels", "ports"), POD_FACTS)
def test_pods_have_the_real_labels_and_ports(
    helm: Helm, standins: dict[str, Path], chart: str, labels: dict[str, str], ports: dict[str, int]  # noqa: F811
) -> None:
    pods = [p for p in pod_templates(helm.template(standins[chart], "release", "istio-system", {})) if labels.items() <= p["labels"].items()]
    assert len(pods) == 1, [p["workload"] for p in pod_templates(helm.template(standins[chart], "release", "istio-system", {}))]
    assert {p.get("name"): p["containerPort"] for p in pods[0]["ports"] if p.get("name") in ports} == ports


def _configmap(docs: list[dict[str, Any]], name: str, key: str) -> Any:
    (data,) = [d["data"][key] for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == name]
    return yaml.safe_load(data)


KIALIS = ["rancher-kiali-server-100.0.0+up1.35.0", "kiali-server-1.45.0", "kiali-server-1.89.3", "kiali-server-2.29.0"]


@pytest.mark.parametrize("chart", KIALIS)
def test_kiali_config_is_the_values_with_the_real_computed_defaults(helm: Helm, standins: dict[str, Path], chart: str) -> None:  # noqa: F811
    """WIRING-FACTS.yaml web_root_default: /kiali on Kubernetes; the config carries what meshcharts wires."""
    wired: dict[str, dict[str, dict[str, Any]]] = {"external_services": {
        "prometheus": {"url": "http://prom:9090"},
        "tracing": {"in_cluster_url": "http://tracing:16686/jaeger", "use_grpc": False},
    }}
    config = _configmap(helm.template(standins[chart], "release", "observability", wired), "kiali", "config.yaml")
    for service, settings in wired["external_services"].items():  # merged over the chart's own defaults
        assert settings.items() <= config["external_services"][service].items()
    assert (config["server"]["web_root"], config["auth"]["strategy"], config["deployment"]["namespace"]) == ("/kiali", "token", "observability")
    assert config["server"]["port"] == 20001 and "fullnameOverride" not in config
    assert ("istio_namespace" in config) == (chart != "kiali-server-2.29.0")  # removed from the 2.x chart


def test_kiali_keeps_a_slash_web_root_since_1_42(helm: Helm, standins: dict[str, Path]) -> None:  # noqa: F811
    def web_root(chart: str) -> str:
        docs = helm.template(standins[chart], "r", "n", {"server": {"web_root": "/"}})
        return str(_configmap(docs, "kiali", "config.yaml")["server"]["web_root"])

    roots = {chart: web_root(chart) for chart in ("rancher-kiali-server-100.0.0+up1.35.0", "kiali-server-1.45.0")}
    assert roots == {"rancher-kiali-server-100.0.0+up1.35.0": "", "kiali-server-1.45.0": "/"}


@pytest.mark.parametrize(("chart", "address"), [("istiod-1.13.9", "zipkin.istio-system:9411"), ("istiod-1.30.3", None)])
def test_istiod_mesh_config_has_the_default_tracer_and_what_meshcharts_wires(
    helm: Helm, standins: dict[str, Path], chart: str, address: str | None  # noqa: F811
) -> None:
    """1.13 sends spans to zipkin.<istio namespace>:9411 by default, 1.30 nowhere until meshConfig says so."""
    mesh = _configmap(helm.template(standins[chart], "istiod", "istio-system", {}), "istio", "mesh")
    assert ((mesh["defaultConfig"].get("tracing") or {}).get("zipkin") or {}).get("address") == address
    assert mesh["defaultConfig"]["discoveryAddress"] == "istiod.istio-system.svc:15012"
    tracing = {"zipkin": {"address": "zipkin.istio-system:9411"}, "sampling": 100}
    wired = {"meshConfig": {"enableTracing": True, "defaultConfig": {"tracing": tracing}}}
    mesh = _configmap(helm.template(standins[chart], "istiod", "istio-system", wired), "istio", "mesh")
    assert mesh["enableTracing"] is True and mesh["defaultConfig"]["tracing"] == tracing


@pytest.mark.parametrize("chart", ["kube-prometheus-stack-45.1.1", "kube-prometheus-stack-88.5.3"])
def test_prometheus_selects_only_monitors_of_its_release_by_default(helm: Helm, standins: dict[str, Path], chart: str) -> None:  # noqa: F811
    """WIRING-FACTS.yaml monitor_selection_default: release=<release> unless *SelectorNilUsesHelmValues is false."""
    (spec,) = [d["spec"] for d in helm.template(standins[chart], "prom", "monitoring", {}) if d["kind"] == "Prometheus"]
    assert spec["serviceMonitorSelector"] == spec["podMonitorSelector"] == {"matchLabels": {"release": "prom"}}
    assert spec["serviceMonitorNamespaceSelector"] == spec["podMonitorNamespaceSelector"] == {}
    spec_values = {"serviceMonitorSelectorNilUsesHelmValues": False, "podMonitorSelectorNilUsesHelmValues": False}
    values = {"prometheus": {"prometheusSpec": spec_values}}
    (spec,) = [d["spec"] for d in helm.template(standins[chart], "prom", "monitoring", values) if d["kind"] == "Prometheus"]
    assert spec["serviceMonitorSelector"] == spec["podMonitorSelector"] == {}


V1 = {"v1": (True, True)}
ALPHA = {"v1alpha1": (True, True)}
# prometheus-community/helm-charts, tag kube-prometheus-stack-45.1.1 charts/kube-prometheus-stack/crds/ (operator v0.63.0)
OPERATOR_CRDS_45 = {
    "alertmanagerconfigs": ("AlertmanagerConfig", ALPHA), "alertmanagers": ("Alertmanager", V1), "podmonitors": ("PodMonitor", V1),
    "probes": ("Probe", V1), "prometheuses": ("Prometheus", V1), "prometheusrules": ("PrometheusRule", V1),
    "servicemonitors": ("ServiceMonitor", V1), "thanosrulers": ("ThanosRuler", V1),
}
# the same at tag kube-prometheus-stack-88.5.3, charts/crds/crds/ (operator v0.93.1)
OPERATOR_CRDS_88 = {**OPERATOR_CRDS_45, "prometheusagents": ("PrometheusAgent", ALPHA), "scrapeconfigs": ("ScrapeConfig", ALPHA)}


def _operator_crds(table: dict[str, tuple[str, dict[str, tuple[bool, bool]]]]) -> dict[str, dict[str, Any]]:
    return {f"{plural}.monitoring.coreos.com": {"group": "monitoring.coreos.com", "kind": kind, "scope": "Namespaced", "versions": versions}
            for plural, (kind, versions) in table.items()}


@pytest.mark.parametrize(("chart", "values", "expected"), [
    # rancher-kiali-server-crd/100.0.0+up1.35.0/SERVICES.md: one CRD, as a template
    ("rancher-kiali-server-crd-100.0.0+up1.35.0", {}, {"monitoringdashboards.monitoring.kiali.io": {
        "group": "monitoring.kiali.io", "kind": "MonitoringDashboard", "scope": "Namespaced", "versions": ALPHA}}),
    ("kube-prometheus-stack-45.1.1", {}, _operator_crds(OPERATOR_CRDS_45)),
    ("kube-prometheus-stack-88.5.3", {}, _operator_crds(OPERATOR_CRDS_88)),
    ("kube-prometheus-stack-88.5.3", {"crds": {"enabled": False}}, {}),  # the crds subchart's condition
])
def test_ships_the_real_crds(
    helm: Helm, standins: dict[str, Path], chart: str, values: dict[str, Any], expected: dict[str, Any]  # noqa: F811
) -> None:
    docs = helm.template(standins[chart], "release", "istio-system", values)
    assert crds(docs) == expected
    assert {d["apiVersion"] for d in docs if d["kind"] == "CustomResourceDefinition"} <= {"apiextensions.k8s.io/v1"}


# istio/istio tag 1.30.3 (56df41f63e513f834c9a3af33d8aed82d1d961f2), manifests/charts/base/files/crd-all.gen.yaml:
# CRD name -> (kind, {version: (served, storage)}); every one Namespaced.
_NET = {"v1": (True, True), "v1alpha3": (True, False), "v1beta1": (True, False)}
_SEC = {"v1": (True, True), "v1beta1": (True, False)}
ISTIO_CRDS_1_30 = {
    "destinationrules.networking.istio.io": ("DestinationRule", _NET),
    "envoyfilters.networking.istio.io": ("EnvoyFilter", {"v1alpha3": (True, True)}),
    "gateways.networking.istio.io": ("Gateway", _NET),
    "proxyconfigs.networking.istio.io": ("ProxyConfig", {"v1beta1": (True, True)}),
    "serviceentries.networking.istio.io": ("ServiceEntry", _NET),
    "sidecars.networking.istio.io": ("Sidecar", _NET),
    "virtualservices.networking.istio.io": ("VirtualService", _NET),
    "workloadentries.networking.istio.io": ("WorkloadEntry", _NET),
    "workloadgroups.networking.istio.io": ("WorkloadGroup", _NET),
    "authorizationpolicies.security.istio.io": ("AuthorizationPolicy", _SEC),
    "peerauthentications.security.istio.io": ("PeerAuthentication", _SEC),
    "requestauthentications.security.istio.io": ("RequestAuthentication", _SEC),
    "telemetries.telemetry.istio.io": ("Telemetry", {"v1": (True, False), "v1alpha1": (True, True)}),
    "trafficextensions.extensions.istio.io": ("TrafficExtension", ALPHA),
    "wasmplugins.extensions.istio.io": ("WasmPlugin", ALPHA),
}


def test_cluster_crds_are_rancher_navlinks_the_same_operator_crds_and_istios(
    repo_root: Path, helm: Helm, standins: dict[str, Path]  # noqa: F811
) -> None:
    folder = repo_root / "meshcharts" / "sandbox" / "crds"
    istio_groups = ("extensions.istio.io", "networking.istio.io", "security.istio.io", "telemetry.istio.io")
    assert sorted(p.name for p in folder.glob("*.yaml")) == sorted(
        ["monitoring.coreos.com.yaml", "ui.cattle.io.yaml", *(f"{group}.yaml" for group in istio_groups)]
    )
    istio = {}
    for group in istio_groups:
        istio |= crds(list(yaml.safe_load_all((folder / f"{group}.yaml").read_text(encoding="utf-8"))))
    expected = {
        name: {"group": name.split(".", 1)[1], "kind": kind, "scope": "Namespaced", "versions": versions}
        for name, (kind, versions) in ISTIO_CRDS_1_30.items()
    }
    assert istio == expected
    navlinks = crds(list(yaml.safe_load_all((folder / "ui.cattle.io.yaml").read_text(encoding="utf-8"))))
    assert navlinks == {"navlinks.ui.cattle.io": {"group": "ui.cattle.io", "kind": "NavLink", "scope": "Cluster", "versions": V1}}
    operator = [d for d in yaml.safe_load_all((folder / "monitoring.coreos.com.yaml").read_text(encoding="utf-8")) if d]
    shipped = [d for d in helm.template(standins["kube-prometheus-stack-88.5.3"], "r", "n", {}) if d["kind"] == "CustomResourceDefinition"]
    key = lambda doc: doc["metadata"]["name"]  # noqa: E731
    assert sorted(operator, key=key) == sorted(shipped, key=key)


@pytest.mark.reference
def test_facts_agree_with_the_reference(reference_charts: Path) -> None:
    """The data above says what ../shared/reference/charts says (WIRING-FACTS.yaml and each SERVICES.md)."""
    wiring = yaml.safe_load((reference_charts / "WIRING-FACTS.yaml").read_text(encoding="utf-8"))
    kps = wiring["kube-prometheus-stack"]["services"]
    assert (kps["prometheus"]["port"], kps["prometheus"]["portName"]) == (9090, "http-web")
    assert (kps["alertmanager"]["port"], kps["operator"]["port"], kps["operator"]["portName"]) == (9093, 443, "https")
    assert (kps["grafana"]["port"], kps["grafana"]["targetPort"], kps["grafana"]["portName"]) == (80, 3000, "http-web")
    assert wiring["kube-prometheus-stack"]["examples"]["prom"] == "prom-kube-prometheus-stack-prometheus"
    assert wiring["kube-prometheus-stack"]["examples"]["prometheus"] == "prometheus-kube-prometheus-prometheus"
    kiali = next(value for key, value in wiring.items() if key.startswith("kiali (kiali-server 1.35"))
    assert kiali["ports"] == dict(port[:2] for port in KIALI) and kiali["web_root_default"]["kubernetes"] == "/kiali"
    tracing = next(value for key, value in wiring.items() if key.startswith("rancher-tracing"))["services"]
    assert {name: tracing[name].get("port") or list(tracing[name]["ports"].values()) for name in tracing} == {
        "tracing": 16686, "zipkin": 9411, "jaeger-collector": [14268, 14250]}
    assert wiring["istiod"]["ports"] == {"grpc-xds": 15010, "https-dns": 15012, "https-webhook": "443->15017", "http-monitoring": 15014}
    folders = {"istiod": "istio-istiod", "grafana": "kube-prometheus-stack"}
    for chart, _, values, expected in SERVICE_FACTS:
        name, _, version = chart.rpartition("-")
        text = (reference_charts / folders.get(name, name) / version / "SERVICES.md").read_text(encoding="utf-8")
        for service, ports in expected.items():
            if not values and not service.endswith("-operated"):  # the operator's Services are not the chart's
                assert all(str(port) in text for _, port, _ in ports), (chart, service)
