"""Dashboard ConfigMaps must sit where the Grafana sidecar looks and carry the label it selects.

The sidecar (k8s-sidecar, configured by the grafana chart) loads ConfigMaps labelled
``sidecar.dashboards.label`` (with ``labelValue`` when it is not empty) from ``searchNamespace`` (``ALL``:
every namespace; unset: its own). kube-prometheus-stack 45.1.1 leaves searchNamespace unset, 45.12.0 and
later (88.5.3) set ALL; rancher-monitoring searches cattle-dashboards, except the 103.x line (ALL). A
dashboard outside those never shows up, and nothing says so. meshcharts derives the right values when
they are unset; typed ones are checked.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

import meshcharts
from meshcharts.checks.validate import validate_project
from meshcharts.core.grafana_sidecar import (
    dashboard_sidecar,
    rancher_monitoring_sidecar,
)
from tests.conftest import StackDir

KPS = """\
name: demo
clusters:
  east: {{}}
components:
  monitoring: {{type: kube-prometheus-stack, version: {version}, release: prom, namespace: monitoring}}
  extras: {{type: mesh-extras, namespace: istio-system}}
"""

RANCHER = """\
name: demo
clusters:
  east: {}
components:
  extras: {type: mesh-extras, namespace: istio-system}
external:
  prometheus:
    url: http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:9090
    monitors: {mode: operator, labels: {}}
  grafana:
    url: http://rancher-monitoring-grafana.cattle-monitoring-system.svc:80
"""

ITEM = "  items:\n    mesh: {json: {title: Mesh}}\n"


def _findings(stack: StackDir, extras: str, *, version: str = "45.1.1", monitoring: str | None = None) -> list[dict[str, object]]:
    stack.write("meshcharts.yaml", KPS.format(version=version))
    stack.write("values/extras.yaml", extras)
    if monitoring is not None:
        stack.write("values/monitoring.yaml", monitoring)
    document = json.loads(stack.cli("validate", "-o", "json").output)
    return document["errors"] + document["warnings"]


def test_kps_45_1_1_searches_its_own_namespace_only(stack_dir: StackDir) -> None:
    findings = _findings(stack_dir, "dashboards:\n  namespace: istio-system\n" + ITEM)
    assert [(f["file"], f["line"], f["column"], f["rule"], f["path"]) for f in findings] == [
        ("values/extras.yaml", 2, 3, "wiring.dashboards-namespace", "dashboards.namespace")
    ]
    message = str(findings[0]["message"])
    assert "component monitoring loads dashboard ConfigMaps from namespace monitoring only" in message
    assert message.endswith("(use dashboards.namespace: monitoring, or delete the key: meshcharts derives it)")


def test_the_release_namespace_typed_as_empty_is_checked_too(stack_dir: StackDir) -> None:
    findings = _findings(stack_dir, 'dashboards:\n  namespace: ""\n' + ITEM)
    assert [f["rule"] for f in findings] == ["wiring.dashboards-namespace"]
    assert "dashboards in istio-system are never loaded" in str(findings[0]["message"])


@pytest.mark.parametrize(
    ("version", "monitoring"),
    [
        ("88.5.3", None),  # searchNamespace: ALL by default since 45.12.0
        ("45.1.1", "grafana:\n  sidecar:\n    dashboards:\n      searchNamespace: ALL\n"),
        ("45.1.1", "grafana:\n  sidecar:\n    dashboards:\n      searchNamespace: [monitoring, istio-system]\n"),
        ("45.1.1", "grafana:\n  sidecar:\n    dashboards:\n      searchNamespace: 'monitoring,istio-system'\n"),
    ],
)
def test_a_namespace_the_sidecar_searches_passes(stack_dir: StackDir, version: str, monitoring: str | None) -> None:
    assert _findings(stack_dir, "dashboards:\n  namespace: istio-system\n" + ITEM, version=version, monitoring=monitoring) == []


def test_a_searched_list_without_the_namespace_names_the_ones_searched(stack_dir: StackDir) -> None:
    monitoring = "grafana:\n  sidecar:\n    dashboards:\n      searchNamespace: [dashboards, monitoring]\n"
    findings = _findings(stack_dir, "dashboards:\n  namespace: istio-system\n" + ITEM, monitoring=monitoring)
    assert [f["rule"] for f in findings] == ["wiring.dashboards-namespace"]
    assert "from namespaces dashboards, monitoring only" in str(findings[0]["message"])


def test_a_label_value_the_sidecar_ignores_is_an_error_at_the_line_that_typed_it(stack_dir: StackDir) -> None:
    findings = _findings(stack_dir, "dashboards:\n  sidecarLabels: {grafana_dashboard: 'true'}\n" + ITEM)
    assert [(f["line"], f["rule"], f["path"]) for f in findings] == [(2, "wiring.dashboards-label", "dashboards.sidecarLabels.grafana_dashboard")]
    message = str(findings[0]["message"])
    assert "only loads ConfigMaps labelled grafana_dashboard=1" in message and "never show up in Grafana" in message
    assert message.endswith('(use grafana_dashboard: "1", or delete the key: meshcharts derives it)')


def test_one_dashboard_overriding_the_label_is_reported_at_its_own_line(stack_dir: StackDir) -> None:
    extras = "dashboards:\n  items:\n    mesh: {json: {title: Mesh}}\n    other:\n      json: {title: Other}\n      labels: {grafana_dashboard: '0'}\n"
    findings = _findings(stack_dir, extras)
    assert [(f["line"], f["rule"], f["path"]) for f in findings] == [(6, "wiring.dashboards-label", "dashboards.items.other.labels.grafana_dashboard")]
    assert "dashboard other carries grafana_dashboard=0" in str(findings[0]["message"])


def test_an_empty_label_value_accepts_any_value(stack_dir: StackDir) -> None:
    monitoring = "grafana:\n  sidecar:\n    dashboards:\n      labelValue: ''\n"
    assert _findings(stack_dir, "dashboards:\n  sidecarLabels: {grafana_dashboard: 'true'}\n" + ITEM, monitoring=monitoring) == []


def test_a_custom_sidecar_label_missing_from_typed_labels_is_an_error(stack_dir: StackDir) -> None:
    monitoring = "grafana:\n  sidecar:\n    dashboards:\n      label: team_dashboard\n"
    findings = _findings(stack_dir, "dashboards:\n  sidecarLabels: {grafana_dashboard: '1'}\n" + ITEM, monitoring=monitoring)
    assert [(f["rule"], f["path"]) for f in findings] == [("wiring.dashboards-label", "dashboards.sidecarLabels")]
    assert "the dashboards carry no team_dashboard label" in str(findings[0]["message"])


def test_unset_values_are_derived_from_the_sidecar(stack_dir: StackDir) -> None:
    monitoring = "grafana:\n  sidecar:\n    dashboards:\n      label: team_dashboard\n      labelValue: mesh\n"
    assert _findings(stack_dir, "dashboards:\n" + ITEM, monitoring=monitoring) == []
    dashboards = meshcharts.open_project(stack_dir.root).compose("east", "extras").values()["dashboards"]
    assert dashboards["namespace"] == "monitoring"
    assert dashboards["sidecarLabels"]["team_dashboard"] == "mesh"


def test_a_grafana_without_dashboard_sidecar_loads_no_configmaps(stack_dir: StackDir) -> None:
    monitoring = "grafana:\n  sidecar:\n    dashboards:\n      enabled: false\n"
    findings = _findings(stack_dir, "dashboards:\n" + ITEM, monitoring=monitoring)
    assert [(f["line"], f["rule"], f["path"]) for f in findings] == [(2, "wiring.dashboards", "dashboards.items")]
    assert "grafana.sidecar.dashboards.enabled is false" in str(findings[0]["message"])


def _rancher_project(stack: StackDir, version: str, extras: str) -> meshcharts.Project:
    """A stack whose external Grafana is a rancher-monitoring of ``version`` (the External's type/version
    fields, as the stack loader fills them for ``external.grafana.type: rancher-monitoring``)."""
    stack.write("meshcharts.yaml", RANCHER)
    stack.write("values/extras.yaml", extras)
    project = meshcharts.open_project(stack.root)
    grafana = project.stack.external["grafana"]
    project.stack.external["grafana"] = dataclasses.replace(grafana, type="rancher-monitoring", version=version)
    return project


def test_rancher_monitoring_dashboards_are_derived_into_cattle_dashboards(stack_dir: StackDir) -> None:
    project = _rancher_project(stack_dir, "102.0.3+up40.1.2", "dashboards:\n" + ITEM)
    dashboards = project.compose("east", "extras").values()["dashboards"]
    assert (dashboards["namespace"], dashboards["sidecarLabels"]) == ("cattle-dashboards", {"grafana_dashboard": "1"})
    assert validate_project(project).diagnostics == []


@pytest.mark.parametrize(("version", "rules"), [("102.0.3+up40.1.2", ["wiring.dashboards-namespace"]), ("103.0.4+up45.31.1", [])])
def test_rancher_monitoring_namespace_typed_by_hand(stack_dir: StackDir, version: str, rules: list[str]) -> None:
    project = _rancher_project(stack_dir, version, "dashboards:\n  namespace: cattle-monitoring-system\n" + ITEM)
    found = validate_project(project).diagnostics
    assert [d.rule for d in found] == rules
    if rules:
        assert "external grafana (rancher-monitoring 102.0.3+up40.1.2) loads dashboard ConfigMaps from namespace cattle-dashboards only" in found[0].message
        assert found[0].hint == "use dashboards.namespace: cattle-dashboards, or delete the key: meshcharts derives it"


@pytest.mark.parametrize(
    ("version", "label_value", "namespaces"),
    [
        ("100.1.0+up19.0.3", None, ("cattle-dashboards",)),
        ("101.0.0+up19.0.3", None, ("cattle-dashboards",)),
        ("102.0.3+up40.1.2", "1", ("cattle-dashboards",)),
        ("103.0.4+up45.31.1", "1", None),
        ("104.1.2+up57.0.3", "1", ("cattle-dashboards",)),
    ],
)
def test_rancher_monitoring_sidecar_facts(version: str, label_value: str | None, namespaces: tuple[str, ...] | None) -> None:
    sidecar = rancher_monitoring_sidecar(version, "cattle-monitoring-system", "external grafana")
    assert sidecar is not None
    assert (sidecar.label, sidecar.label_value, sidecar.namespaces) == ("grafana_dashboard", label_value, namespaces)


def test_search_namespace_forms_the_grafana_chart_accepts() -> None:
    def namespaces(value: object) -> tuple[str, ...] | None:
        return dashboard_sidecar("l", "1", value, "own", "x").namespaces

    assert namespaces(None) == ("own",)
    assert namespaces("") == ("own",)
    assert namespaces("ALL") is None
    assert namespaces("a, b") == ("a", "b")
    assert namespaces(["a", "b"]) == ("a", "b")
    assert dashboard_sidecar("l", "", None, "own", "x").selects({"l": "anything"})
    assert not dashboard_sidecar("l", "1", None, "own", "x").selects({"l": "2"})
