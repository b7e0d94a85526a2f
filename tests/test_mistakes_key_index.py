"""Unknown keys that are known elsewhere say where they belong.

Users put kube-prometheus-stack's monitor selectors at the top level instead of under
``prometheus.prometheusSpec``, a PVC field beside ``spec`` instead of inside it, a kiali-server 1.x key
into 2.x values, Kiali keys into the tracing values. "unknown key" alone sends them to the chart's
values.yaml to search; the index of every key path in the packaged schemas says where the key lives.
"""

from __future__ import annotations

import json

from meshcharts.schema import keyindex
from tests.conftest import REPO_ROOT, StackDir

STACK = """\
name: demo
clusters:
  east: {{}}
components:
  monitoring: {{type: kube-prometheus-stack, version: {kps}, release: prom, namespace: monitoring}}
  kiali: {{type: kiali-server, version: {kiali}}}
  tracing: {{type: rancher-tracing, version: 100.0.0}}
"""


def _findings(stack: StackDir, values: dict[str, str], *, kps: str = "45.1.1", kiali: str = "1.89.3") -> list[dict[str, object]]:
    stack.write("meshcharts.yaml", STACK.format(kps=kps, kiali=kiali))
    for component, text in values.items():
        stack.write(f"values/{component}.yaml", text)
    document = json.loads(stack.cli("validate", "-o", "json").output)
    return [f for f in document["errors"] + document["warnings"] if str(f["rule"]).startswith("schema.")]


def test_monitor_selector_at_the_top_level_points_under_prometheus_spec(stack_dir: StackDir) -> None:
    for kps in ("45.1.1", "88.5.3"):
        findings = _findings(stack_dir, {"monitoring": "serviceMonitorSelectorNilUsesHelmValues: false\n"}, kps=kps)
        assert [(f["file"], f["line"], f["column"], f["rule"], f["path"]) for f in findings] == [
            ("values/monitoring.yaml", 1, 1, "schema.misplaced-key", "serviceMonitorSelectorNilUsesHelmValues")
        ]
        assert str(findings[0]["message"]).endswith("(did you mean prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues?)")
        assert str(findings[0]["message"]).startswith('unknown key "serviceMonitorSelectorNilUsesHelmValues" at the top level')


def test_a_pvc_field_beside_spec_points_inside_spec(stack_dir: StackDir) -> None:
    """The operator's CRD prunes unknown fields: the claim would silently get the default StorageClass."""
    values = "prometheus:\n  prometheusSpec:\n    storageSpec:\n      volumeClaimTemplate:\n        storageClassName: sata\n        spec:\n          resources: {requests: {storage: 10Gi}}\n"
    for kps in ("45.1.1", "88.5.3"):
        findings = _findings(stack_dir, {"monitoring": values}, kps=kps)
        assert [(f["line"], f["rule"]) for f in findings] == [(5, "schema.misplaced-key")]
        assert "did you mean prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName?" in str(findings[0]["message"])


def test_a_key_misplaced_one_level_too_high_names_the_nearest_home(stack_dir: StackDir) -> None:
    findings = _findings(stack_dir, {"monitoring": "prometheusSpec:\n  retention: 30d\n"})
    assert [f["rule"] for f in findings] == ["schema.misplaced-key"]
    assert "did you mean prometheus.prometheusSpec?" in str(findings[0]["message"])


def test_a_key_typed_twice_is_not_sent_to_its_own_parent(stack_dir: StackDir) -> None:
    findings = _findings(stack_dir, {"monitoring": "prometheus:\n  prometheusSpec:\n    prometheusSpec: {retention: 30d}\n"})
    assert [(f["rule"], f["message"]) for f in findings] == [("schema.unknown-key", 'unknown key "prometheusSpec"')]


def test_a_key_of_the_other_kiali_line_says_which_line_has_it(stack_dir: StackDir) -> None:
    findings = _findings(stack_dir, {"kiali": "api:\n  namespaces:\n    exclude: [kube-system]\n"}, kiali="2.29.0")
    assert [(f["line"], f["rule"], f["path"]) for f in findings] == [(1, "schema.key-of-other-version", "api")]
    message = str(findings[0]["message"])
    assert message.startswith('"api" is a kiali-server 1.x key; kiali-server 2.x does not have it')
    assert "api.namespaces was replaced by deployment.discovery_selectors in kiali-server 2.x" in message


def test_a_newer_chart_key_on_the_older_chart_says_so(stack_dir: StackDir) -> None:
    findings = _findings(stack_dir, {"monitoring": "crds:\n  enabled: false\n"})
    assert [(f["rule"], f["path"]) for f in findings] == [("schema.key-of-other-version", "crds")]
    assert str(findings[0]["message"]) == '"crds" is a kube-prometheus-stack 88.x key; kube-prometheus-stack 45.x does not have it (remove it, or pin a kube-prometheus-stack 88.x chart)'


def test_kiali_keys_in_the_tracing_values_name_the_component_they_belong_to(stack_dir: StackDir) -> None:
    findings = _findings(stack_dir, {"tracing": "external_services:\n  prometheus:\n    url: http://x:9090\n"})
    assert [(f["file"], f["line"], f["rule"], f["path"]) for f in findings] == [("values/tracing.yaml", 1, "schema.key-of-other-component", "external_services")]
    message = str(findings[0]["message"])
    assert message.startswith('"external_services" is a kiali-server key; this file is for rancher-tracing')
    assert "(put it in the values of component kiali)" in message


def test_only_types_the_stack_uses_are_named(stack_dir: StackDir) -> None:
    """kube-prometheus-stack's top-level namespaceOverride-like keys exist in istio-addons too; without such a
    component in the stack, naming it would only mislead."""
    findings = _findings(stack_dir, {"monitoring": "namespace: monitoring\n"})
    assert [(f["rule"], f["message"]) for f in findings] == [("schema.unknown-key", 'unknown key "namespace" (did you mean "namespaceOverride"?)')]


def test_typos_keep_their_did_you_mean(stack_dir: StackDir) -> None:
    findings = _findings(stack_dir, {"kiali": "deployment:\n  image_pull_polcy: Always\n"})
    assert [(f["rule"], f["message"]) for f in findings] == [("schema.unknown-key", 'unknown key "image_pull_polcy" (did you mean "image_pull_policy"?)')]


def test_a_key_found_in_too_many_places_stays_a_plain_unknown_key(stack_dir: StackDir) -> None:
    findings = _findings(stack_dir, {"tracing": "enabled: true\n"})
    assert [f["rule"] for f in findings] == ["schema.unknown-key"]


def test_the_stack_file_gets_the_same_help(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", "name: demo\nvars: {clusterId: c-1}\nclusters:\n  east: {}\ncomponents: {}\n")
    result = stack_dir.cli("validate")
    assert result.exit_code == 2
    assert "meshcharts.yaml:2:1: vars: " in result.stderr
    assert "did you mean clusters.<name>.vars?" in result.stderr


def test_the_index_is_built_only_when_a_key_is_unknown_and_only_once(stack_dir: StackDir) -> None:
    keyindex.schema_index.cache_clear()
    assert stack_dir.cli("validate", "--stack", str(REPO_ROOT)).exit_code == 0
    assert keyindex.schema_index.cache_info().misses == 0  # the clean pre-commit path never builds it
    mistakes = {"tracing": "external_services: {}\n", "kiali": "nope: 1\n"}
    _findings(stack_dir, mistakes)
    built = keyindex.schema_index.cache_info().misses
    assert built > 0
    _findings(stack_dir, mistakes)
    assert keyindex.schema_index.cache_info().misses == built


def test_every_schema_has_its_key_paths_indexed() -> None:
    paths = keyindex.schema_index("kube-prometheus-stack-45.schema.json").paths
    assert ("prometheus", "prometheusSpec", "serviceMonitorSelectorNilUsesHelmValues") in paths
    assert ("grafana", "sidecar", "dashboards", "searchNamespace") in paths
    mesh = keyindex.schema_index("mesh-extras-1.schema.json").paths
    assert ("networkPolicies", "*", "egress", "ports", "[]", "port") in mesh
