"""Label selectors and the Prometheus operator's monitor selection, as ``meshcharts verify`` reads them.

The rules (prometheus-operator API reference, PrometheusSpec): a null monitor selector selects no
monitor, ``{}`` every monitor; a null namespace selector means the Prometheus' own namespace only,
``{}`` every namespace. The examples are the write-ups' failure: Istio's monitors in istio-system,
kube-prometheus-stack's Prometheus in monitoring selecting ``release: <its release>``.
"""

from __future__ import annotations

import pytest

from meshcharts.deploy.selectors import (
    SelectorError,
    monitor_selection,
    plain_labels_fix,
    selector_matches,
)

ISTIO_MONITOR = {"monitoring": "istio-components"}
ISTIO_SYSTEM = {"kubernetes.io/metadata.name": "istio-system"}


@pytest.mark.parametrize(
    ("selector", "labels", "expected"),
    [
        (None, {"a": "1"}, False),  # null selects nothing
        ({}, {}, True),  # empty selects everything
        ({"matchLabels": {"a": "1"}}, {"a": "1", "b": "2"}, True),
        ({"matchLabels": {"a": "1"}}, {"a": "2"}, False),
        ({"matchLabels": {"a": "1"}}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]}]}, {"a": "2"}, True),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1"]}]}, {}, False),
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {}, True),  # absent is "not in"
        ({"matchExpressions": [{"key": "a", "operator": "NotIn", "values": ["1"]}]}, {"a": "1"}, False),
        ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
        ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "x"}, False),
        # matchLabels and matchExpressions are ANDed
        ({"matchLabels": {"a": "1"}, "matchExpressions": [{"key": "b", "operator": "Exists"}]}, {"a": "1"}, False),
    ],
)
def test_label_selectors_match_as_the_api_server_reads_them(selector: dict | None, labels: dict, expected: bool) -> None:
    assert selector_matches(selector, labels) is expected


@pytest.mark.parametrize(
    "requirement",
    [
        {"key": "a", "operator": "Equals", "values": ["1"]},
        {"key": "a", "operator": "In", "values": []},
        {"key": "a", "operator": "Exists", "values": ["1"]},
    ],
)
def test_a_selector_the_api_server_would_reject_is_an_error_not_a_guess(requirement: dict) -> None:
    with pytest.raises(SelectorError):
        selector_matches({"matchExpressions": [requirement]}, {"a": "1"})


def test_kube_prometheus_stack_defaults_do_not_select_istios_monitors() -> None:
    spec = {"serviceMonitorSelector": {"matchLabels": {"release": "kps"}}, "serviceMonitorNamespaceSelector": {}}
    selection = monitor_selection(spec, "monitoring", "ServiceMonitor", "istio-system", ISTIO_MONITOR, ISTIO_SYSTEM)
    assert not selection.selected
    assert selection.field == "serviceMonitorSelector"
    assert '"release": "kps"' in selection.reason and "istio-components" in selection.reason
    assert plain_labels_fix(spec["serviceMonitorSelector"], ISTIO_MONITOR) == {"release": "kps"}


def test_an_empty_selector_selects_every_monitor_in_every_namespace() -> None:
    spec: dict[str, dict[str, str]] = {"podMonitorSelector": {}, "podMonitorNamespaceSelector": {}}
    assert monitor_selection(spec, "cattle-monitoring-system", "PodMonitor", "istio-system", ISTIO_MONITOR, ISTIO_SYSTEM).selected


def test_a_null_monitor_selector_selects_none() -> None:
    selection = monitor_selection({"podMonitorNamespaceSelector": {}}, "monitoring", "PodMonitor", "istio-system", ISTIO_MONITOR, ISTIO_SYSTEM)
    assert not selection.selected
    assert selection.field == "podMonitorSelector"
    assert "null" in selection.reason


def test_a_null_namespace_selector_means_the_prometheus_own_namespace_only() -> None:
    spec: dict[str, dict[str, str]] = {"serviceMonitorSelector": {}}
    elsewhere = monitor_selection(spec, "monitoring", "ServiceMonitor", "istio-system", ISTIO_MONITOR, ISTIO_SYSTEM)
    assert not elsewhere.selected
    assert elsewhere.field == "serviceMonitorNamespaceSelector"
    assert "monitoring" in elsewhere.reason and "istio-system" in elsewhere.reason
    assert monitor_selection(spec, "istio-system", "ServiceMonitor", "istio-system", ISTIO_MONITOR, ISTIO_SYSTEM).selected


def test_a_namespace_selector_reads_the_namespace_labels() -> None:
    spec = {"podMonitorSelector": {}, "podMonitorNamespaceSelector": {"matchLabels": {"istio-injection": "enabled"}}}
    refused = monitor_selection(spec, "monitoring", "PodMonitor", "istio-system", ISTIO_MONITOR, ISTIO_SYSTEM)
    assert not refused.selected and refused.field == "podMonitorNamespaceSelector"
    labelled = {**ISTIO_SYSTEM, "istio-injection": "enabled"}
    assert monitor_selection(spec, "monitoring", "PodMonitor", "istio-system", ISTIO_MONITOR, labelled).selected


def test_an_invalid_selector_is_reported_as_such() -> None:
    spec = {"serviceMonitorSelector": {"matchExpressions": [{"key": "release", "operator": "in", "values": ["x"]}]}}
    selection = monitor_selection(spec, "monitoring", "ServiceMonitor", "monitoring", ISTIO_MONITOR, {})
    assert not selection.selected
    assert "invalid" in selection.reason and "'in'" in selection.reason


def test_no_label_fix_is_offered_for_an_expression_selector() -> None:
    assert plain_labels_fix({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {}) is None
    assert plain_labels_fix({"matchLabels": {"a": "1"}}, {"a": "1"}) is None
