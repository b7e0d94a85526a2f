"""Conformance of the Kiali values schemas (kiali-server 1.x/2.x, rancher-kiali-server 100.x).

The schemas must accept every upstream default values.yaml of the versions they cover (read from
../shared/reference, never copied), reject the mistakes people make in Kiali values (typos in keys
and enums, wrong types, keys another Kiali line reads), and both validators (jsonschema-rs on the
hot path, jsonschema as the reference) must agree on every document.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshcharts.schema.store import fast_validator, load_schema, reference_validator
from tests.schema_findings import (
    Finding,
    fast_findings,
    findings,
    reference_findings,
    unknown_keys,
)

RANCHER = "rancher-kiali-server-100.schema.json"
KIALI_1 = "kiali-server-1.schema.json"
KIALI_2 = "kiali-server-2.schema.json"
SCHEMAS = (RANCHER, KIALI_1, KIALI_2)

# ---------------------------------------------------------------- the schemas themselves
# (valid 2020-12 with a matching $id: tests/test_schema_store.py, for every packaged schema)


def _properties_without_description(node: Any, path: str) -> Iterator[str]:
    if isinstance(node, dict):
        for key, sub in node.get("properties", {}).items():
            if not (isinstance(sub, dict) and sub.get("description")):
                yield f"{path}.{key}"
            yield from _properties_without_description(sub, f"{path}.{key}")
        for keyword in ("items", "additionalProperties"):
            yield from _properties_without_description(node.get(keyword), f"{path}[]")
        for key, sub in node.get("$defs", {}).items():
            yield from _properties_without_description(sub, f"#/$defs/{key}")


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_property_has_a_description(name: str) -> None:
    """The generated reference page is built from the descriptions."""
    assert list(_properties_without_description(load_schema(name), "")) == []


@pytest.mark.parametrize("name", SCHEMAS)
def test_strict_sections_reject_unknown_keys(name: str) -> None:
    """Top level, auth, deployment, external_services (and its children) and server are closed."""
    schema = load_schema(name)
    defs = schema["$defs"]
    assert schema["additionalProperties"] is False
    for section in ("auth", "deployment", "externalServices", "prometheus", "grafana", "tracing",
                    "customDashboards", "istio", "server", "serviceAuth"):
        assert defs[section]["additionalProperties"] is False, section


# ---------------------------------------------------------------- upstream defaults

REFERENCE_DEFAULTS = [
    (KIALI_1, "kiali-server/1.35.0/values.yaml"),
    (KIALI_1, "kiali-server/1.44.0/values.yaml"),
    (KIALI_1, "kiali-server/1.45.0/values.yaml"),
    (KIALI_1, "kiali-server/1.89.3/values.yaml"),
    (KIALI_2, "kiali-server/2.29.0/values.yaml"),
    (RANCHER, "rancher-kiali-server/100.0.0+up1.35.0/values.yaml"),
    # Rancher's kiali subcharts (Kiali 1.44, 1.50, 1.89.3): repository/tag, web_root_override, global.cattle
    (KIALI_1, "rancher-istio/100.2.1+up1.12.6/charts/kiali/values.yaml"),
    (KIALI_1, "rancher-istio/100.3.0+up1.13.3/charts/kiali/values.yaml"),
    (KIALI_1, "rancher-istio/104.5.0+up1.23.2/charts/kiali/values.yaml"),
    # Istio 1.13's addon generator values for kiali-server 1.45
    (KIALI_1, "istio-addons/1.13.9/generator-values/values-kiali.yaml"),
]


def _loadreference(reference_charts: Path, relative: str) -> Any:
    path = reference_charts / relative
    assert path.is_file(), f"missing reference file {path}"
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.mark.reference
@pytest.mark.parametrize(("name", "relative"), REFERENCE_DEFAULTS, ids=[r for _, r in REFERENCE_DEFAULTS])
def test_upstream_defaults_validate(reference_charts: Path, name: str, relative: str) -> None:
    document = _loadreference(reference_charts, relative)
    assert list(fast_validator(name).iter_errors(document)) == []
    assert list(reference_validator(name).iter_errors(document)) == []


@pytest.mark.reference
def test_istio_1_30_addon_values_carry_a_dead_ingress_key(reference_charts: Path) -> None:
    """Istio's generator values still set deployment.ingress_enabled, which no 2.x chart reads."""
    document = _loadreference(reference_charts, "istio-addons/1.30.3/generator-values/values-kiali.yaml")
    assert findings(KIALI_2, document) == {("deployment", "additionalProperties")}
    assert unknown_keys(KIALI_2, document) == {"deployment.ingress_enabled"}


# ---------------------------------------------------------------- the seeds

SEED_000_VALUES = """\
global:
  cattle:
    systemDefaultRegistry: "mtr.external.otc.telekomcloud.com"
    clusterId: "c-pzk8b"
  rbac:
    pspEnabled: true
fullnameOverride: "kiali"
istio_namespace: "istio-system"
auth:
  strategy: anonymous
deployment:
  repository: istio/kiali
  image_pull_policy: "IfNotPresent"
  tag: v1.44
  accessible_namespaces:
  - "sample"
  - "istio-system"
  ingress_enabled: false
  node_selector: {}
  resources:
    limits:
      cpu: 512m
      memory: 1024Mi
    requests:
      cpu: 10m
      memory: 128Mi
external_services:
  prometheus:
    custom_metrics_url: "http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:9090"
    url: "http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:9090"
  tracing:
    in_cluster_url: "http://tracing.istio-system.svc:16686/jaeger"
  grafana:
    in_cluster_url: "http://rancher-monitoring-grafana.cattle-monitoring-system.svc:80"
    url: "http://rancher-monitoring-grafana.cattle-monitoring-system.svc:80"
"""

SEED_004_VALUES = """\
external_services:
  prometheus:
    url: "http://prometheus-service.monitoring.svc.cluster.local:8082/"
  grafana:
    in_cluster_url: "http://grafana.grafana.svc.cluster.local"
    url: "http://grafana.ahioros.homelab.local"
  tracing:
    enabled: true
"""


@pytest.mark.parametrize("name", [RANCHER, KIALI_1])
def test_seed_000_fails_only_on_custom_metrics_url(name: str) -> None:
    """The rancher-kiali-server values of seed 000: everything is real except the dead key."""
    document = yaml.safe_load(SEED_000_VALUES)
    assert findings(name, document) == {("external_services.prometheus", "additionalProperties")}
    assert unknown_keys(name, document) == {"external_services.prometheus.custom_metrics_url"}


@pytest.mark.parametrize("name", SCHEMAS)
def test_seed_004_external_services_validate(name: str) -> None:
    """url/in_cluster_url are still read by 2.x (deprecated: the key rules warn, not the schema)."""
    assert findings(name, yaml.safe_load(SEED_004_VALUES)) == set()


def test_seed_000_without_the_dead_key_is_valid() -> None:
    document = yaml.safe_load(SEED_000_VALUES)
    del document["external_services"]["prometheus"]["custom_metrics_url"]
    assert findings(RANCHER, document) == set()


# ---------------------------------------------------------------- mistakes are caught

MISTAKES: list[tuple[str, str, dict[str, Any], set[Finding]]] = [
    ("strategy-typo", "all", {"auth": {"strategy": "anonymus"}}, {("auth.strategy", "enum")}),
    ("strategy-removed-login", "all", {"auth": {"strategy": "login"}}, {("auth.strategy", "enum")}),
    ("external-services-typo", "all", {"external_services": {"prometeus": {"url": "http://p:9090"}}},
     {("external_services", "additionalProperties")}),
    ("top-level-typo", "all", {"external_service": {}}, {("", "additionalProperties")}),
    ("deployment-typo", "1", {"deployment": {"accessible_namespace": ["istio-system"]}},
     {("deployment", "additionalProperties")}),
    ("port-as-string", "all", {"server": {"port": "20001"}}, {("server.port", "type")}),
    ("port-out-of-range", "all", {"server": {"port": 200010}}, {("server.port", "maximum")}),
    ("url-not-string", "all", {"external_services": {"prometheus": {"url": 9090}}},
     {("external_services.prometheus.url", "type")}),
    ("enabled-as-string", "all", {"external_services": {"tracing": {"enabled": "true"}}},
     {("external_services.tracing.enabled", "type")}),
    ("namespaces-not-a-list", "1", {"deployment": {"accessible_namespaces": "**"}},
     {("deployment.accessible_namespaces", "type")}),
    ("grafana-key-typo", "all", {"external_services": {"grafana": {"in_cluster_ur": "http://g"}}},
     {("external_services.grafana", "additionalProperties")}),
    ("tracing-key-typo", "all", {"external_services": {"tracing": {"use_gprc": False}}},
     {("external_services.tracing", "additionalProperties")}),
    ("service-auth-type", "all", {"external_services": {"grafana": {"auth": {"type": "basik"}}}},
     {("external_services.grafana.auth.type", "enum")}),
    ("custom-dashboards-typo", "all", {"external_services": {"custom_dashboards": {"prometheus": {"ulr": "x"}}}},
     {("external_services.custom_dashboards.prometheus", "additionalProperties")}),
    ("istio-key-typo", "all", {"external_services": {"istio": {"root_namespce": "istio-system"}}},
     {("external_services.istio", "additionalProperties")}),
    ("istio-namespace-not-dns", "1", {"istio_namespace": "Istio_System"}, {("istio_namespace", "pattern")}),
    ("pull-policy", "all", {"deployment": {"image_pull_policy": "IfNotPresen"}},
     {("deployment.image_pull_policy", "enum")}),
    ("pull-secret-objects", "all", {"deployment": {"image_pull_secrets": [{"name": "regcred"}]}},
     {("deployment.image_pull_secrets.0", "type")}),
    ("label-not-string", "all", {"deployment": {"pod_labels": {"sidecar.istio.io/inject": False}}},
     {("deployment.pod_labels.sidecar.istio.io/inject", "type")}),
    ("k8s-affinity-pasted", "all", {"deployment": {"affinity": {"nodeAffinity": {}}}},
     {("deployment.affinity", "additionalProperties")}),
    ("replicas-as-string", "all", {"deployment": {"replicas": "2"}}, {("deployment.replicas", "type")}),
    ("tag-as-number", "rancher", {"deployment": {"tag": 1.44}}, {("deployment.tag", "type")}),
    ("cattle-typo", "rancher", {"global": {"cattle": {"clusterID": "c-pzk8b"}}},
     {("global.cattle", "additionalProperties")}),
    ("cattle-typo-subchart", "1", {"global": {"cattle": {"clusterID": "c-pzk8b"}}},
     {("global.cattle", "additionalProperties")}),
    ("psp-typo", "rancher", {"global": {"rbac": {"pspEnable": True}}}, {("global.rbac", "additionalProperties")}),
    ("log-level", "all", {"deployment": {"logger": {"log_level": "warning"}}},
     {("deployment.logger.log_level", "enum")}),
    ("metrics-port-as-string", "1", {"server": {"metrics_port": "9090"}}, {("server.metrics_port", "type")}),
    ("observability-typo", "2", {"server": {"observability": {"metrics": {"prot": 9090}}}},
     {("server.observability.metrics", "additionalProperties")}),
    ("discovery-selectors-cluster-key", "2",
     {"deployment": {"discovery_selectors": {"east": [{"matchLabels": {"istio-injection": "enabled"}}]}}},
     {("deployment.discovery_selectors", "additionalProperties")}),
    ("discovery-selector-operator", "2",
     {"deployment": {"discovery_selectors": {"default": [{"matchExpressions": [{"key": "env", "operator": "in"}]}]}}},
     {("deployment.discovery_selectors.default.0.matchExpressions.0.operator", "enum")}),
    ("skip-resources", "2", {"skipResources": ["role"]}, {("skipResources.0", "enum")}),
]

_LINES = {"all": SCHEMAS, "1": (RANCHER, KIALI_1), "2": (KIALI_2,), "rancher": (RANCHER,)}


def _mistake_cases() -> Iterator[Any]:
    for case_id, line, document, expected in MISTAKES:
        for name in _LINES[line]:
            yield pytest.param(name, document, expected, id=f"{case_id}-{name.split('.')[0]}")


@pytest.mark.parametrize(("name", "document", "expected"), list(_mistake_cases()))
def test_mistakes_are_caught(name: str, document: dict[str, Any], expected: set[Finding]) -> None:
    assert findings(name, document) == expected


# ---------------------------------------------------------------- version lines differ

#: (document, valid for rancher-100, valid for kiali-server-1, valid for kiali-server-2)
LINE_CASES: list[tuple[str, dict[str, Any], bool, bool, bool]] = [
    ("accessible-namespaces", {"deployment": {"accessible_namespaces": ["**"]}}, True, True, False),
    ("internal-url", {"external_services": {"grafana": {"internal_url": "http://grafana:3000"}}}, False, False, True),
    ("external-url", {"external_services": {"tracing": {"external_url": "https://jaeger.example/jaeger"}}}, False, False, True),
    ("in-cluster-url", {"external_services": {"tracing": {"in_cluster_url": "http://tracing:16686/jaeger"}}}, True, True, True),
    ("cluster-wide-access", {"deployment": {"cluster_wide_access": False}}, False, True, True),
    ("discovery-selectors", {"deployment": {"discovery_selectors": {"default": []}}}, False, False, True),
    ("rancher-image", {"deployment": {"repository": "rancher/mirrored-kiali-kiali", "tag": "v1.35.0"}}, True, True, False),
    ("upstream-image", {"deployment": {"image_name": "quay.io/kiali/kiali", "image_version": "v1.89.3"}}, False, True, True),
    ("web-root-override", {"web_root_override": True}, True, True, False),
    ("global", {"global": {"cattle": {"clusterId": "c-1"}}}, True, True, False),
    ("subchart-global-open", {"global": {"proxy": {"tag": "1.23.2"}}}, False, True, False),
    ("ingress-enabled", {"deployment": {"ingress_enabled": False}}, True, True, False),
    ("ingress-block", {"deployment": {"ingress": {"enabled": False, "class_name": "nginx"}}}, False, True, True),
    ("metrics-port", {"server": {"metrics_port": 9090, "metrics_enabled": True}}, True, True, False),
    ("observability", {"server": {"observability": {"metrics": {"enabled": True, "port": 9090}}}}, False, True, True),
    ("tracing-provider", {"external_services": {"tracing": {"provider": "tempo", "grpc_port": 9095}}}, False, True, True),
    ("prometheus-enabled", {"external_services": {"prometheus": {"enabled": True}}}, False, False, True),
    ("istio-namespace", {"istio_namespace": "istio-system"}, True, True, True),
    ("api-namespaces", {"api": {"namespaces": {"exclude": ["kube-.*"]}}}, True, True, False),
    ("fullname-override", {"fullnameOverride": "kiali"}, True, True, False),
    ("perses", {"external_services": {"perses": {"enabled": False}}}, False, False, True),
    ("root-namespace", {"external_services": {"istio": {"root_namespace": ""}}}, False, True, True),
]


@pytest.mark.parametrize(("case_id", "document", "rancher", "one", "two"), LINE_CASES, ids=[c[0] for c in LINE_CASES])
def test_each_line_takes_the_keys_its_versions_read(
    case_id: str, document: dict[str, Any], rancher: bool, one: bool, two: bool
) -> None:
    for name, expected in ((RANCHER, rancher), (KIALI_1, one), (KIALI_2, two)):
        assert (findings(name, document) == set()) is expected, f"{case_id}: {name}"


# ---------------------------------------------------------------- open where Kubernetes objects pass through

PASS_THROUGH = {
    "deployment": {
        "resources": {"limits": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": 1}, "claims": [{"name": "x"}]},
        "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "mesh", "effect": "NoSchedule"}],
        "affinity": {"node": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}},
        "node_selector": {"kubernetes.io/os": "linux"},
        "pod_annotations": {"prometheus.io/scrape": "true", "anything.example/else": "x"},
        "service_annotations": {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
        "hpa": {"api_version": "autoscaling/v2", "spec": {"minReplicas": 1, "maxReplicas": 3, "metrics": []}},
        "additional_service_yaml": {"externalTrafficPolicy": "Local"},
    },
    "kiali_feature_flags": {"ui_defaults": {"refresh_interval": "1m"}, "some_future_flag": True},
    "login_token": {"signing_key": "<secret:KIALI_SIGNING_KEY>"},
}


@pytest.mark.parametrize("name", SCHEMAS)
def test_kubernetes_pass_through_values_stay_open(name: str) -> None:
    assert findings(name, PASS_THROUGH) == set()


def test_custom_secrets_and_host_aliases_are_typed() -> None:
    good = {"deployment": {"custom_secrets": [{"name": "ca", "mount": "/ca", "optional": True}],
                           "host_aliases": [{"ip": "10.0.0.1", "hostnames": ["prom.local"]}]}}
    assert findings(KIALI_1, good) == set()
    bad = {"deployment": {"custom_secrets": [{"name": "ca"}]}}
    assert findings(KIALI_1, bad) == {("deployment.custom_secrets.0", "required")}


# ---------------------------------------------------------------- both validators agree

AGREEMENT_DOCUMENTS: list[Any] = [
    {},
    {"auth": {"strategy": ""}},
    {"auth": {"strategy": "token"}, "deployment": {"accessible_namespaces": ["**"]}},
    {"auth": {"strategy": "header", "openid": {"client_id": "kiali"}}},
    {"auth": {"openid": {"client_idd": "kiali"}}},
    {"external_services": {"tracing": {"use_grpc": "no"}}},
    {"external_services": {"grafana": {"dashboards": [{"name": "Istio Mesh Dashboard"}]}}},
    {"external_services": {"grafana": {"dashboards": "Istio Mesh Dashboard"}}},
    {"external_services": {"custom_dashboards": {"discovery_enabled": "auto"}}},
    {"external_services": {"custom_dashboards": {"discovery_enabled": "sometimes"}}},
    {"deployment": {"replicas": -1}},
    {"deployment": None},
    {"server": {"web_port": 443, "web_schema": "https"}},
    {"server": {"web_schema": "ftp"}},
    {"istio_namespace": None},
    {"global": {"cattle": {"clusterId": None}}},
    ["not", "a", "mapping"],
    "scalar",
]


@pytest.mark.parametrize("name", SCHEMAS)
@pytest.mark.parametrize("index", range(len(AGREEMENT_DOCUMENTS)))
def test_validators_agree(name: str, index: int) -> None:
    document = AGREEMENT_DOCUMENTS[index]
    fast_valid = fast_validator(name).is_valid(document)
    assert fast_valid == reference_validator(name).is_valid(document)
    assert fast_findings(name, document) == reference_findings(name, document)
    assert fast_valid is (not fast_findings(name, document))
