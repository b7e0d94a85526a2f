"""mesh-extras takes its monitor labels, scrape jobs, NetworkPolicy ports and dashboard placement from
the other releases of its cluster, and the rendered chart is what the real helm accepts."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

import meshcharts
from meshcharts.helm.client import HelmClient
from tests.conftest import StackDir

KPS_AND_EXTRAS = """\
name: demo
clusters:
  east: {}
components:
  monitoring: {type: kube-prometheus-stack, version: 45.1.1, release: prom, namespace: monitoring}
  kiali: {type: kiali-server, version: 1.89.3}
  tracing: {type: rancher-tracing, version: 100.0.0}
  extras: {type: mesh-extras}
"""


def _errors(stack: StackDir) -> list[dict[str, object]]:
    document = json.loads(stack.cli("validate", "-o", "json").output)
    return document["errors"] + document["warnings"]


def test_monitors_carry_the_kps_release_label(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", KPS_AND_EXTRAS)
    composition = meshcharts.open_project(stack_dir.root).compose("east", "extras")
    assert composition.values()["monitors"]["labels"] == {"release": "prom"}
    origin = composition.origin(("monitors", "labels", "release"))
    assert origin is not None and origin.detail == "derived from component monitoring (its monitor selector)"
    assert _errors(stack_dir) == []


def test_monitors_with_the_wrong_release_label_are_an_error(stack_dir: StackDir) -> None:
    """Istio's own sample monitors carry release: istio, which kube-prometheus-stack never selects."""
    stack_dir.write("meshcharts.yaml", KPS_AND_EXTRAS)
    stack_dir.write("values/extras.yaml", "monitors:\n  labels:\n    release: istio\n")
    errors = _errors(stack_dir)
    assert [(e["file"], e["line"], e["rule"]) for e in errors] == [("values/extras.yaml", 2, "wiring.monitor-not-selected")] * 2
    assert "component monitoring only selects PodMonitors labelled release=prom" in str(errors[0]["message"])
    assert "Kiali shows no traffic" in str(errors[0]["message"])


def test_kps_selecting_every_monitor_accepts_any_labels(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", KPS_AND_EXTRAS)
    stack_dir.write(
        "values/monitoring.yaml",
        "prometheus:\n  prometheusSpec:\n    serviceMonitorSelectorNilUsesHelmValues: false\n    podMonitorSelectorNilUsesHelmValues: false\n",
    )
    stack_dir.write("values/extras.yaml", "monitors:\n  labels:\n    release: istio\n")
    assert _errors(stack_dir) == []


def test_monitors_without_any_prometheus_operator_fail_at_validate_time(stack_dir: StackDir) -> None:
    """Seed 001: `no matches for kind "PodMonitor" in version "monitoring.coreos.com/v1"`, before apply."""
    stack_dir.write(
        "meshcharts.yaml",
        "name: demo\nclusters: {east: {}}\ncomponents:\n  extras: {type: mesh-extras}\n",
    )
    errors = _errors(stack_dir)
    assert [e["rule"] for e in errors] == ["wiring.missing-crds"]
    assert "no matches for kind" in str(errors[0]["message"]) and "monitoring.coreos.com" in str(errors[0]["message"])


def test_existing_prometheus_gets_scrape_jobs_instead_of_monitors(stack_dir: StackDir) -> None:
    """Seed 004: Prometheus already runs in namespace monitoring, configured by hand."""
    stack_dir.write(
        "meshcharts.yaml",
        "name: demo\nclusters: {east: {}}\ncomponents:\n  extras: {type: mesh-extras}\n"
        "external:\n  prometheus:\n    url: http://prometheus-service.monitoring.svc.cluster.local:8082\n    monitors: {mode: scrape-configs}\n",
    )
    values = meshcharts.open_project(stack_dir.root).compose("east", "extras").values()
    assert values["monitors"]["enabled"] is False
    assert values["scrapeConfigs"]["enabled"] is True and values["scrapeConfigs"]["namespace"] == "monitoring"
    assert _errors(stack_dir) == []


def test_kiali_network_policy_allows_the_pod_ports_kiali_is_wired_to(stack_dir: StackDir) -> None:
    """Seed 000: Service ports are not always Pod ports (Grafana 80 -> 3000)."""
    stack_dir.write("meshcharts.yaml", KPS_AND_EXTRAS)
    stack_dir.write("values/extras.yaml", "networkPolicies:\n  kiali:\n    namespace: istio-system\n")
    policy = meshcharts.open_project(stack_dir.root).compose("east", "extras").values()["networkPolicies"]["kiali"]
    assert policy["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "kiali"}}
    assert [port["port"] for port in policy["egress"]["ports"]] == [3000, 8080, 9090, 15014, 16686]
    assert policy["egress"]["kubeApiServer"] is True
    assert [port["port"] for port in policy["ingress"]["ports"]] == [20001, 9090]


def test_mesh_extras_installs_after_kube_prometheus_stack(stack_dir: StackDir) -> None:
    stack_dir.write(
        "meshcharts.yaml",
        "name: demo\nclusters: {east: {}}\ncomponents:\n  extras: {type: mesh-extras}\n"
        "  monitoring: {type: kube-prometheus-stack, version: 45.1.1, release: prom}\n",
    )
    from meshcharts.wiring.order import install_order

    order = [release.name for release in install_order(meshcharts.open_project(stack_dir.root).compose_all("east"), "east")]
    assert order == ["prom", "mesh-extras"]


def test_rendered_mesh_extras_lints_and_templates_with_real_helm(stack_dir: StackDir, helm_client: HelmClient) -> None:
    stack_dir.write("meshcharts.yaml", KPS_AND_EXTRAS)
    stack_dir.write("values/extras.yaml", "networkPolicies:\n  kiali:\n    namespace: istio-system\n")
    result = stack_dir.cli("render", "-o", "json")
    assert result.exit_code == 0, result.output
    chart = stack_dir.root / "charts-out/east/mesh-extras"
    values = yaml.safe_load((stack_dir.root / "charts-out/east/mesh-extras.values.yaml").read_text())
    lint = helm_client.lint(chart, values)
    assert lint.ok, lint.messages
    objects = helm_client.template("mesh-extras", chart, namespace="istio-system", values=values)
    monitors = {o["kind"]: o["metadata"]["labels"] for o in objects if o["kind"] in ("PodMonitor", "ServiceMonitor")}
    assert monitors["PodMonitor"]["release"] == "prom" and monitors["ServiceMonitor"]["release"] == "prom"
    policy = next(o for o in objects if o["kind"] == "NetworkPolicy")
    egress_ports = sorted(p["port"] for rule in policy["spec"]["egress"] for p in rule.get("ports", []))
    assert {3000, 9090, 16686, 15014}.issubset(egress_ports)
    assert Path(chart / "Chart.yaml").is_file()


def test_grafana_com_dashboards_become_kps_grafana_values(stack_dir: StackDir) -> None:
    """Seed 004's dashboard IDs, downloaded by kube-prometheus-stack's Grafana itself."""
    stack_dir.write("meshcharts.yaml", KPS_AND_EXTRAS)
    stack_dir.write("values/extras.yaml", "dashboards:\n  grafanaCom:\n    revision: 200\n    revisions: {'13277': 150}\n")
    assert _errors(stack_dir) == []
    grafana = meshcharts.open_project(stack_dir.root).compose("east", "monitoring").values()["grafana"]
    boards = grafana["dashboards"]["istio"]
    assert {board["gnetId"]: board["revision"] for board in boards.values()} == {7645: 200, 7639: 200, 11829: 200, 7636: 200, 7630: 200, 13277: 150}
    assert grafana["dashboardProviders"]["dashboardproviders.yaml"]["providers"][0]["name"] == "istio"


def test_grafana_com_dashboards_need_a_grafana_that_downloads(stack_dir: StackDir) -> None:
    stack_dir.write(
        "meshcharts.yaml",
        "name: demo\nclusters: {east: {}}\ncomponents:\n  extras: {type: mesh-extras}\n"
        "external:\n  prometheus: {url: 'http://prometheus.monitoring:9090', monitors: {mode: scrape-configs}}\n"
        "  grafana: {url: 'http://grafana.grafana:80'}\n",
    )
    stack_dir.write("values/extras.yaml", "dashboards:\n  grafanaCom:\n    revision: 200\n")
    errors = _errors(stack_dir)
    assert [(e["line"], e["rule"]) for e in errors] == [(2, "wiring.dashboards")]
    assert "external grafana) loads dashboards from ConfigMaps only" in str(errors[0]["message"])
    stack_dir.write("values/extras.yaml", "dashboards:\n  grafanaCom:\n    datasource: Prometheus\n")
    assert sorted(e["rule"] for e in _errors(stack_dir)) == ["schema.any-of", "wiring.dashboards"]


def test_grafana_com_revisions_alone_pick_those_dashboards(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", KPS_AND_EXTRAS)
    stack_dir.write("values/extras.yaml", "dashboards:\n  grafanaCom:\n    revisions: {'7645': 3, '7639': 4}\n")
    assert _errors(stack_dir) == []
    boards = meshcharts.open_project(stack_dir.root).compose("east", "monitoring").values()["grafana"]["dashboards"]["istio"]
    assert sorted((board["gnetId"], board["revision"]) for board in boards.values()) == [(7639, 4), (7645, 3)]
