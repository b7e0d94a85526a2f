"""Conformance of the chart schemas: rancher-tracing 100.x, kube-prometheus-stack 45.x/88.x and istiod 1.x.

Each schema must accept the upstream default values.yaml of every reference version it covers (read
from ../shared/reference once per session, never copied), accept the values the seeds use except the
keys the chart does not read, catch the typical mistakes, and give the same answer with both
validators (jsonschema-rs on the hot path, jsonschema as the reference).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshcharts.schema.checker import judge
from meshcharts.schema.store import fast_validator, load_schema
from tests.schema_findings import (
    Finding,
    fast_findings,
    findings,
    reference,
    reference_findings,
    unknown_keys,
)

TRACING = "rancher-tracing-100.schema.json"
KPS_45 = "kube-prometheus-stack-45.schema.json"
KPS_88 = "kube-prometheus-stack-88.schema.json"
ISTIOD = "istiod-1.schema.json"
VALUE_SCHEMAS = (TRACING, KPS_45, KPS_88, ISTIOD)
SHARED_SCHEMAS = ("k8s-common.schema.json", "kube-prometheus-stack-common.schema.json")

def doc(text: str) -> Any:
    """Parse an inline YAML fixture."""
    return yaml.safe_load(text)


# ---------------------------------------------------------------- the schemas themselves
# (valid 2020-12 with a matching $id: tests/test_schema_store.py, for every packaged schema)


def _undescribed(node: Any, path: str) -> Iterator[str]:
    """Paths of defined properties that carry no description, anywhere in a schema."""
    if isinstance(node, list):
        for index, sub in enumerate(node):
            yield from _undescribed(sub, f"{path}[{index}]")
        return
    if not isinstance(node, dict):
        return
    for key, sub in node.get("properties", {}).items():
        if not (isinstance(sub, dict) and sub.get("description")):
            yield f"{path}.{key}"
        yield from _undescribed(sub, f"{path}.{key}")
    for keyword in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
        yield from _undescribed(node.get(keyword), f"{path}/{keyword}")
    for key, sub in node.get("$defs", {}).items():
        if not (isinstance(sub, dict) and sub.get("description")):
            yield f"#/$defs/{key}"
        yield from _undescribed(sub, f"#/$defs/{key}")


@pytest.mark.parametrize("name", VALUE_SCHEMAS + SHARED_SCHEMAS)
def test_every_property_has_a_description(name: str) -> None:
    """The generated reference page is built from the descriptions."""
    assert list(_undescribed(load_schema(name), "")) == []


@pytest.mark.parametrize(
    ("name", "pointer"),
    [
        (TRACING, ""), (TRACING, "/properties/jaeger"), (TRACING, "/properties/jaeger/properties/persistentVolumeClaim"),
        (TRACING, "/properties/service"), (TRACING, "/properties/zipkin"), (TRACING, "/properties/global"),
        (TRACING, "/properties/global/properties/cattle"),
        *[(kps, section) for kps in (KPS_45, KPS_88) for section in (
            "", "/$defs/prometheus", "/$defs/prometheusSpec", "/$defs/prometheus/properties/service", "/$defs/alertmanager",
            "/$defs/alertmanagerSpec", "/$defs/prometheusOperator", "/$defs/grafana", "/$defs/grafana/properties/service",
            "/$defs/grafana/properties/sidecar/properties/dashboards", "/$defs/storageSpec", "/$defs/labelSelector")],
        (ISTIOD, ""), (ISTIOD, "/$defs/pilot"), (ISTIOD, "/$defs/meshConfig"), (ISTIOD, "/$defs/proxyConfig"),
        (ISTIOD, "/$defs/tracing"), (ISTIOD, "/$defs/extensionProvider"), (ISTIOD, "/properties/telemetry"),
    ],
)
def test_strict_sections_are_closed(name: str, pointer: str) -> None:
    """Where a misspelt key is silently ignored by the chart, the schema lists every key and closes the object."""
    node: Any = load_schema(name)
    for part in [p for p in pointer.split("/") if p]:
        node = node[part]
    assert node["additionalProperties"] is False
    assert node["properties"]


def test_strict_objects_live_in_their_own_file() -> None:
    """Shared files hold only open shapes: did-you-mean resolves unknown keys against the validated schema's own $defs."""
    def closed(node: Any) -> Iterator[bool]:
        if isinstance(node, dict):
            yield node.get("additionalProperties") is False
            for sub in node.values():
                yield from closed(sub)
        elif isinstance(node, list):
            for sub in node:
                yield from closed(sub)

    for name in SHARED_SCHEMAS:
        assert not any(closed(load_schema(name))), name


# ---------------------------------------------------------------- upstream defaults

REFERENCE_DEFAULTS = [
    (TRACING, "rancher-tracing/100.0.0/values.yaml", None),
    (KPS_45, "kube-prometheus-stack/45.1.1/values.yaml", None),
    (KPS_88, "kube-prometheus-stack/88.5.3/values.yaml", None),
    (ISTIOD, "istio-istiod/1.13.9/values.yaml", None),
    (ISTIOD, "istio-istiod/1.30.3/values.yaml", None),
    # 1.30 nests the defaults; users set the same keys at top level
    (ISTIOD, "istio-istiod/1.30.3/values.yaml", "_internal_defaults_do_not_set"),
]


@lru_cache(maxsize=None)
def _load_values(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.mark.reference
@pytest.mark.parametrize(("name", "relpath", "subkey"), REFERENCE_DEFAULTS,
                         ids=[f"{relpath.split('/values')[0]}{'@' + sub if sub else ''}" for _, relpath, sub in REFERENCE_DEFAULTS])
def test_upstream_defaults_validate(reference_charts: Path, name: str, relpath: str, subkey: str | None) -> None:
    values = _load_values(reference_charts / relpath)
    if subkey:
        values = values[subkey]
    assert fast_findings(name, values) == set()
    assert reference_findings(name, values) == set()


@pytest.mark.reference
def test_grafana_subchart_defaults_validate_as_the_grafana_block(reference_charts: Path) -> None:
    """grafana: in kube-prometheus-stack takes every key of the pinned grafana subchart."""
    for name, relpath in ((KPS_45, "kube-prometheus-stack/45.1.1/subcharts/grafana-6.50.7/values.yaml"),
                          (KPS_88, "kube-prometheus-stack/88.5.3/subcharts/grafana-12.11.1/values.yaml")):
        assert findings(name, {"grafana": _load_values(reference_charts / relpath)}) == set(), relpath


@pytest.mark.reference
def test_versions_differ_where_the_charts_differ(reference_charts: Path) -> None:
    """88.x-only keys are unknown to the 45 schema and the reverse: that is why there are two schemas."""
    defaults_88 = _load_values(reference_charts / "kube-prometheus-stack/88.5.3/values.yaml")
    defaults_45 = _load_values(reference_charts / "kube-prometheus-stack/45.1.1/values.yaml")
    assert {"crds", "windowsMonitoring", "prometheus.agentMode", "prometheus.prometheusSpec.scrapeConfigSelector"} <= unknown_keys(KPS_45, defaults_88)
    assert "prometheus.podSecurityPolicy" in unknown_keys(KPS_88, defaults_45)


# ---------------------------------------------------------------- seeds

SEED_000_JAEGER = """
provider: jaeger

global:
  cattle:
    systemDefaultRegistry: "mtr.external.otc.telekomcloud.com"
  defaultResources: {}
  imagePullPolicy: IfNotPresent
  defaultNodeSelector: {}
  rbac:
    pspEnabled: true

jaeger:
  contextPath: "/jaeger"
  repository: rancher/mirrored-jaegertracing-all-in-one
  tag: 1.20.0
  spanStorageType: badger
  resources:
    limits:
      cpu: 512m
      memory: 1024Mi
    requests:
      cpu: 10m
      memory: 128Mi
  persistentVolumeClaim:
    enabled: true
    storage: 5Gi
  storageClassName: "sata"
  accessMode: ReadWriteOnce
  memory:
    max_traces: 50000
zipkin:
  queryPort: 9411
service:
  annotations: {}
  name: http-query
  type: ClusterIP
  externalPort: 16686
"""

SEED_003_ISTIOD = """
meshConfig:
  enableTracing: true
  defaultConfig:
    tracing:
      zipkin:
        address: zipkin.istio-system.svc.cluster.local:9411
      sampling: 100
"""


def test_seed_000_jaeger_values_only_the_ignored_key_is_reported() -> None:
    """rancher-tracing 100.0.0 reads the top-level contextPath; jaeger.contextPath is silently ignored."""
    values = doc(SEED_000_JAEGER)
    assert unknown_keys(TRACING, values) == {"jaeger.contextPath"}
    assert findings(TRACING, values) == {("jaeger", "additionalProperties")}
    del values["jaeger"]["contextPath"]
    values["contextPath"] = "/jaeger"
    assert findings(TRACING, values) == set()


def test_seed_001_kube_prometheus_stack_defaults() -> None:
    """Seed 001 installs 45.1.1 without values: an empty document is valid for both lines."""
    assert findings(KPS_45, {}) == set()
    assert findings(KPS_88, {}) == set()


def test_seed_003_istiod_tracing() -> None:
    assert findings(ISTIOD, doc(SEED_003_ISTIOD)) == set()
    # the same keys in the snake_case spelling of the proto fields are accepted by istiod too
    assert findings(ISTIOD, doc("""
meshConfig:
  defaultConfig:
    tracing:
      sampling: 1.5
      max_path_tag_length: 99
      custom_tags:
        cluster: {environment: {name: CLUSTER_ID, default_value: unknown}}
""")) == set()


def test_istio_monitoring_fix_validates_for_both_kps_lines() -> None:
    """The fix from ISTIO-MONITORING.md: select every ServiceMonitor/PodMonitor, scrape istiod by hand."""
    values = doc("""
prometheus:
  prometheusSpec:
    serviceMonitorSelectorNilUsesHelmValues: false
    podMonitorSelectorNilUsesHelmValues: false
    serviceMonitorSelector: {}
    podMonitorSelector:
      matchExpressions:
      - {key: monitoring, operator: In, values: [istio-proxies]}
    retention: 15d
    retentionSize: 40GiB
    storageSpec:
      volumeClaimTemplate:
        spec:
          storageClassName: sata
          accessModes: [ReadWriteOnce]
          resources: {requests: {storage: 50Gi}}
    additionalScrapeConfigs:
    - job_name: istiod
      kubernetes_sd_configs:
      - role: endpoints
        namespaces: {names: [istio-system]}
grafana:
  adminPassword: secret
  service: {type: NodePort, port: 80, nodePort: 30080}
  sidecar:
    dashboards: {enabled: true, label: grafana_dashboard, labelValue: "1", searchNamespace: ALL}
""")
    assert findings(KPS_45, values) == set()
    assert findings(KPS_88, values) == set()


# ---------------------------------------------------------------- typical mistakes

MISTAKES = [
    pytest.param(KPS_45, "prometheus: {prometheusSpec: {serviceMonitorSelectorNilUsesHelmValue: false}}",
                 ("prometheus.prometheusSpec", "additionalProperties"), id="kps45-NilUsesHelmValue-typo"),
    pytest.param(KPS_88, "prometheus: {prometheusSpec: {serviceMonitorSelectorNilUsesHelmValue: false}}",
                 ("prometheus.prometheusSpec", "additionalProperties"), id="kps88-NilUsesHelmValue-typo"),
    pytest.param(TRACING, "jaeger: {spanStorageType: cassandra}", ("jaeger.spanStorageType", "enum"), id="tracing-cassandra"),
    pytest.param(KPS_45, 'grafana: {service: {port: "80"}}', ("grafana.service.port", "type"), id="kps45-grafana-port-string"),
    pytest.param(KPS_88, 'grafana: {service: {port: "80"}}', ("grafana.service.port", "type"), id="kps88-grafana-port-string"),
    pytest.param(ISTIOD, "meshConfig: {defaultConfig: {tracing: {sampling: 150}}}",
                 ("meshConfig.defaultConfig.tracing.sampling", "maximum"), id="istiod-sampling-150"),
    pytest.param(ISTIOD, "_internal_defaults_do_not_set: {meshConfig: {defaultConfig: {tracing: {sampling: -1}}}}",
                 ("_internal_defaults_do_not_set.meshConfig.defaultConfig.tracing.sampling", "minimum"), id="istiod-nested-defaults-checked"),
    pytest.param(ISTIOD, 'meshConfig: {defaultConfig: {tracing: {zipkin: {address: "http://zipkin.istio-system:9411/api/v2/spans"}}}}',
                 ("meshConfig.defaultConfig.tracing.zipkin.address", "pattern"), id="istiod-zipkin-url-not-host-port"),
    pytest.param(ISTIOD, "meshConfig: {enableTracng: true}", ("meshConfig", "additionalProperties"), id="istiod-meshconfig-typo"),
    pytest.param(ISTIOD, 'meshConfig: {extensionProviders: [{name: zipkin, zipkin: {service: zipkin.istio-system, port: "9411"}}]}',
                 ("meshConfig.extensionProviders.0.zipkin.port", "type"), id="istiod-provider-port-string"),
    pytest.param(ISTIOD, "meshConfig: {extensionProviders: [{name: jaeger}]}",
                 ("meshConfig.extensionProviders.0", "minProperties"), id="istiod-provider-without-kind"),
    pytest.param(ISTIOD, "meshConfig: {connectTimeout: 5m}", ("meshConfig.connectTimeout", "pattern"), id="istiod-proto-duration"),
    pytest.param(ISTIOD, "pilot: {traceSampling: 101}", ("pilot.traceSampling", "maximum"), id="istiod-pilot-trace-sampling"),
    pytest.param(ISTIOD, "global: {proxy: {tracer: jaeger}}", ("global.proxy.tracer", "enum"), id="istiod-global-tracer"),
    pytest.param(ISTIOD, "telemetry: {v2: {prometheus: {enable: true}}}", ("telemetry.v2.prometheus", "additionalProperties"), id="istiod-telemetry-typo"),
    pytest.param(TRACING, "service: {type: ClusterIp}", ("service.type", "enum"), id="tracing-service-type"),
    pytest.param(TRACING, 'zipkin: {queryPort: "9411"}', ("zipkin.queryPort", "type"), id="tracing-port-string"),
    pytest.param(TRACING, "jaeger: {tag: 1.20}", ("jaeger.tag", "type"), id="tracing-tag-float"),
    pytest.param(TRACING, "jaeger: {persistentVolumeClaim: {storage: 5GB}}", ("jaeger.persistentVolumeClaim.storage", "pattern"), id="tracing-quantity"),
    pytest.param(TRACING, 'global: {cattle: {systemDefaultRegistry: "https://mtr.example.com/"}}',
                 ("global.cattle.systemDefaultRegistry", "pattern"), id="tracing-registry-url"),
    pytest.param(KPS_45, "prometheus: {prometheusSpec: {retentionSize: 50Gi}}", ("prometheus.prometheusSpec.retentionSize", "pattern"), id="kps-retention-size"),
    pytest.param(KPS_88, "prometheus: {prometheusSpec: {retention: 10 days}}", ("prometheus.prometheusSpec.retention", "pattern"), id="kps-retention"),
    pytest.param(KPS_88, "alertmanager: {alertmanagerSpec: {retention: 5d}}", ("alertmanager.alertmanagerSpec.retention", "pattern"), id="kps-am-retention-days"),
    pytest.param(KPS_88, "prometheus: {prometheusSpec: {podMonitorSelector: {matchLabel: {release: istio}}}}",
                 ("prometheus.prometheusSpec.podMonitorSelector", "additionalProperties"), id="kps-selector-typo"),
    pytest.param(KPS_88, "prometheus: {service: {type: Nodeport}}", ("prometheus.service.type", "enum"), id="kps-service-type"),
    pytest.param(KPS_45, "prometheus: {prometheusSpec: {podAntiAffinity: required}}", ("prometheus.prometheusSpec.podAntiAffinity", "enum"), id="kps-anti-affinity"),
    pytest.param(KPS_45, "grafana: {sidecar: {dashboards: {lable: grafana_dashboard}}}",
                 ("grafana.sidecar.dashboards", "additionalProperties"), id="kps-grafana-sidecar-typo"),
    pytest.param(KPS_45, "grafana: {adminPasswd: x}", ("grafana", "additionalProperties"), id="kps-grafana-top-typo"),
    pytest.param(KPS_45, "prometheusOperatr: {enabled: false}", ("", "additionalProperties"), id="kps-top-typo"),
    pytest.param(KPS_45, "prometheus: {agentMode: true}", ("prometheus", "additionalProperties"), id="kps45-has-no-agent-mode"),
    pytest.param(KPS_88, "prometheus: {podSecurityPolicy: {}}", ("prometheus", "additionalProperties"), id="kps88-has-no-psp"),
]


@pytest.mark.parametrize(("name", "text", "expected"), MISTAKES)
def test_typical_mistakes_are_caught(name: str, text: str, expected: Finding) -> None:
    assert findings(name, doc(text)) == {expected}


def test_unknown_keys_get_did_you_mean() -> None:
    """Strict objects sit in the schema's own file, so the checker can suggest the right key."""
    values = doc("prometheus: {prometheusSpec: {serviceMonitorSelectorNilUsesHelmValue: false}}")
    (diagnostic,) = judge(KPS_45, values, lambda path, is_key: None).diagnostics
    assert diagnostic.path == "prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValue"
    assert "serviceMonitorSelectorNilUsesHelmValues" in (diagnostic.hint or "")
    (diagnostic,) = judge(ISTIOD, doc("meshConfig: {defaultConfig: {tracing: {samplng: 1}}}"), lambda path, is_key: None).diagnostics
    assert "sampling" in (diagnostic.hint or "")


# ---------------------------------------------------------------- the validators agree

AGREEMENT = {
    TRACING: [
        "{}",
        "contextPath: /tracing\nnodeSelector: {disk: ssd}\npodAntiAffinityLabelSelector: [{key: app, operator: In, values: 'jaeger', topologyKey: kubernetes.io/hostname}]",
        "global: {arch: {amd64: 2, arm64: 101}}",
        "jaeger: {memory: {max_traces: 0}, accessMode: ReadWriteSome}",
        "provider: zipkin\nservice: {name: HTTP_QUERY, externalPort: 0}",
        "jaeger: {resources: {limits: {cpu: [1]}}}",
    ],
    KPS_45: [
        "alertmanager: {enabled: false}\ngrafana: {enabled: false}",
        "prometheus: {prometheusSpec: {replicas: -1, shards: 0, logLevel: verbose}}",
        "prometheus: {prometheusSpec: {sampleLimit: 100}}",
        "prometheus: {prometheusSpec: {enforcedSampleLimit: true, additionalScrapeConfigs: [{static_configs: []}]}}",
        "prometheus: {prometheusSpec: {storageSpec: {volumeClaimTemplate: {spec: {accessModes: [ReadWriteMany]}}, volumeClaimTemplat: {}}}}",
        "grafana: {persistence: {enabled: true, size: 10 GB}, sidecar: {datasources: {url: 'http://x:9090'}}}",
    ],
    KPS_88: [
        "prometheus: {agentMode: true, prometheusSpec: {scrapeConfigSelectorNilUsesHelmValues: false, sampleLimit: false}}",
        "prometheus: {prometheusSpec: {scrapeProtocols: [PrometheusProto, Protobuf], remoteWrite: [{name: x}]}}",
        "grafana: {service: {ipFamilyPolicy: DualStack, port: 70000}, adminPassword: ~}",
        "kubeEtcd: {enabled: false}\nnodeExporter: {enabled: false}\nprometheusOperator: {logLevel: chatty, tls: {enabled: false}}",
        "fullnameOverride: a-very-long-name-that-helm-truncates-silently",
    ],
    ISTIOD: [
        "revision: 1-30\nrevisionTags: [prod]\nprofile: ambient\ncompatibilityVersion: '1.28'",
        "revision: Canary_1\ncompatibilityVersion: 1.28",
        "pilot: {autoscaleEnabled: false, replicaCount: 2, env: {PILOT_TRACE_SAMPLING: 10}}\nautoscaleEnabled: true",
        "meshConfig: {defaultConfig: {tracing: {customTags: {a: {literal: {value: x}}, b: {}}}}}",
        "meshConfig: {extensionProviders: [{name: otel, opentelemetry: {service: otel.observability.svc, port: 4317}}], defaultProviders: {tracing: [otel]}}",
        "meshConfig: {extensionProviders: [{name: otel, opentelemetry: {service: 'otel:4317', port: 4317}, zipkin: {service: z, port: 9411}}]}",
        "global: {hub: docker.io/istio, tag: 1.13.9, somethingFromAnotherChart: {x: 1}, tracer: {zipkin: {address: ''}}}",
    ],
}


@pytest.mark.parametrize(("name", "text"), [(name, text) for name, texts in AGREEMENT.items() for text in texts])
def test_both_validators_agree(name: str, text: str) -> None:
    document = doc(text)
    fast = fast_findings(name, document)
    assert fast == reference_findings(name, document)
    assert fast_validator(name).is_valid(document) == reference(name).is_valid(document)
