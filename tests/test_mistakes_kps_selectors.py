"""``serviceMonitorSelector: {}`` typed to mean "select all" while ``serviceMonitorSelectorNilUsesHelmValues`` is true.

kube-prometheus-stack's values.yaml says "If {}, select all ServiceMonitors", but every 45.x and 88.x
templates/prometheus/prometheus.yaml tests the selector with a Go template ``if`` (an empty map is false), then
``NilUsesHelmValues`` (true by default) and writes ``matchLabels: {release: <release>}``. The same holds for the
pod monitor, probe, rule (also Thanos Ruler's) and, from 46.5.0, scrape config selectors. meshcharts reports it at
the selector's own line: an error when a mesh-extras monitor of the cluster lacks the release label (it would
never be scraped), else a warning.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import StackDir

STACK = """\
name: demo
clusters:
  east: {{}}
components:
  monitoring: {{type: kube-prometheus-stack, version: {version}, release: prom, namespace: monitoring}}
  extras: {{type: mesh-extras, namespace: istio-system}}
"""


def _validate(stack: StackDir, monitoring: str, *, version: str = "45.1.1", extras: str | None = None) -> tuple[int, dict[str, list[dict[str, object]]]]:
    stack.write("meshcharts.yaml", STACK.format(version=version))
    stack.write("values/monitoring.yaml", monitoring)
    if extras is not None:
        stack.write("values/extras.yaml", extras)
    result = stack.cli("validate", "-o", "json")
    return result.exit_code, json.loads(result.output)


def _selector_findings(document: dict[str, list[dict[str, object]]]) -> list[dict[str, object]]:
    return [f for f in document["errors"] + document["warnings"] if f["rule"] == "kps.empty-selector"]


@pytest.mark.parametrize("version", ["45.1.1", "88.5.3"])
def test_an_empty_service_monitor_selector_is_a_warning_at_its_own_line(stack_dir: StackDir, version: str) -> None:
    code, document = _validate(stack_dir, "prometheus:\n  prometheusSpec:\n    serviceMonitorSelector: {}\n", version=version)
    assert code == 0 and document["errors"] == []
    assert [(f["file"], f["line"], f["column"], f["cluster"], f["component"], f["path"], f["rule"]) for f in document["warnings"]] == [
        ("values/monitoring.yaml", 3, 5, "east", "monitoring", "prometheus.prometheusSpec.serviceMonitorSelector", "kps.empty-selector")
    ]
    message = str(document["warnings"][0]["message"])
    assert "an empty serviceMonitorSelector does not select every ServiceMonitor" in message
    assert "serviceMonitorSelectorNilUsesHelmValues is true (its default)" in message
    assert "only ServiceMonitors labelled release=prom are selected" in message
    assert message.endswith("(set prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues: false to select all ServiceMonitors)")


def test_the_text_output_names_file_line_column_and_the_fix(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", STACK.format(version="45.1.1"))
    stack_dir.write("values/monitoring.yaml", "prometheus:\n  prometheusSpec:\n    podMonitorSelector: {}\n")
    result = stack_dir.cli("validate")
    assert result.exit_code == 0
    line = next(text for text in result.output.splitlines() if "kps" in text or "podMonitorSelector" in text)
    assert line.startswith("values/monitoring.yaml:3:5: east/monitoring: prometheus.prometheusSpec.podMonitorSelector: warning: an empty podMonitorSelector")
    assert line.endswith("(set prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues: false to select all PodMonitors)")


@pytest.mark.parametrize(
    ("version", "values", "path", "objects"),
    [
        ("45.1.1", "prometheus:\n  prometheusSpec:\n    probeSelector: {}\n", "prometheus.prometheusSpec.probeSelector", "Probes"),
        ("88.5.3", "prometheus:\n  prometheusSpec:\n    ruleSelector: {}\n", "prometheus.prometheusSpec.ruleSelector", "PrometheusRules"),
        ("88.5.3", "prometheus:\n  prometheusSpec:\n    scrapeConfigSelector: {}\n", "prometheus.prometheusSpec.scrapeConfigSelector", "ScrapeConfigs"),
        ("45.1.1", "thanosRuler:\n  enabled: true\n  thanosRulerSpec:\n    ruleSelector: {}\n", "thanosRuler.thanosRulerSpec.ruleSelector", "PrometheusRules"),
    ],
)
def test_every_selector_with_a_nil_uses_helm_values_key_is_checked(stack_dir: StackDir, version: str, values: str, path: str, objects: str) -> None:
    _code, document = _validate(stack_dir, values, version=version)
    findings = _selector_findings(document)
    assert [(f["line"], f["path"]) for f in findings] == [(values.count("\n"), path)]
    assert f"only {objects} labelled release=prom are selected" in str(findings[0]["message"])
    assert f"{path}NilUsesHelmValues: false" in str(findings[0]["message"])


def test_an_explicit_true_is_named_as_set_not_as_the_default(stack_dir: StackDir) -> None:
    values = "prometheus:\n  prometheusSpec:\n    serviceMonitorSelectorNilUsesHelmValues: true\n    serviceMonitorSelector: {}\n"
    _code, document = _validate(stack_dir, values)
    [finding] = _selector_findings(document)
    assert finding["line"] == 4
    assert "serviceMonitorSelectorNilUsesHelmValues is true, the chart writes" in str(finding["message"])


def test_typed_monitor_labels_without_the_release_make_it_an_error(stack_dir: StackDir) -> None:
    values = "prometheus:\n  prometheusSpec:\n    serviceMonitorSelector: {}\n    podMonitorSelector: {}\n"
    code, document = _validate(stack_dir, values, extras="monitors:\n  labels: {team: mesh}\n")
    assert code == 1
    errors = _selector_findings(document)
    assert [(f["line"], f["path"]) for f in errors] == [
        (3, "prometheus.prometheusSpec.serviceMonitorSelector"),
        (4, "prometheus.prometheusSpec.podMonitorSelector"),
    ]
    assert all(f in document["errors"] for f in errors)
    assert "the istio-component-monitor ServiceMonitor of component extras carries {'team': 'mesh', 'monitoring': 'istio-components'} and would never be scraped" in str(errors[0]["message"])
    assert "the envoy-stats-monitor PodMonitor of component extras" in str(errors[1]["message"])


def test_monitors_labelled_with_the_release_leave_it_a_warning(stack_dir: StackDir) -> None:
    values = "prometheus:\n  prometheusSpec:\n    serviceMonitorSelector: {}\n"
    code, document = _validate(stack_dir, values, extras="monitors:\n  labels: {team: mesh, release: prom}\n")
    assert code == 0
    assert [f["rule"] for f in document["warnings"]] == ["kps.empty-selector"] and document["errors"] == []


@pytest.mark.parametrize(
    ("version", "values"),
    [
        # what the warning asks for: "select all" for real
        ("45.1.1", "prometheus:\n  prometheusSpec:\n    serviceMonitorSelectorNilUsesHelmValues: false\n    serviceMonitorSelector: {}\n"),
        ("88.5.3", "prometheus:\n  prometheusSpec:\n    podMonitorSelectorNilUsesHelmValues: false\n    podMonitorSelector: {}\n"),
        # a non-empty map is copied as it is: matchLabels {} selects all, labels select those
        ("45.1.1", "prometheus:\n  prometheusSpec:\n    serviceMonitorSelector: {matchLabels: {}}\n"),
        ("45.1.1", "prometheus:\n  prometheusSpec:\n    serviceMonitorSelector: {matchLabels: {release: prom}}\n"),
        # the chart's own default {}, untyped
        ("45.1.1", "prometheus:\n  prometheusSpec:\n    retention: 10d\n"),
        # no Prometheus or Thanos Ruler object carries the selector
        ("45.1.1", "prometheus:\n  enabled: false\n  prometheusSpec:\n    serviceMonitorSelector: {}\n"),
        ("45.1.1", "thanosRuler:\n  thanosRulerSpec:\n    ruleSelector: {}\n"),
        # an agent has no ruleSelector; 45.x has no scrapeConfigSelector (from 46.5.0)
        ("88.5.3", "prometheus:\n  agentMode: true\n  prometheusSpec:\n    ruleSelector: {}\n"),
        ("45.1.1", "prometheus:\n  prometheusSpec:\n    enableFeatures: [agent]\n    ruleSelector: {}\n"),
    ],
)
def test_setups_that_select_what_they_say_pass(stack_dir: StackDir, version: str, values: str) -> None:
    _code, document = _validate(stack_dir, values, version=version)
    assert _selector_findings(document) == []


def test_a_scrape_config_selector_on_45_is_not_this_rule(stack_dir: StackDir) -> None:
    _code, document = _validate(stack_dir, "prometheus:\n  prometheusSpec:\n    scrapeConfigSelector: {}\n")
    assert _selector_findings(document) == []
