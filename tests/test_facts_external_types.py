"""``external.<name>.type: rancher-monitoring``: the Pod ports and labels behind its Services follow from
meshcharts' facts, so Kiali's NetworkPolicy lets it reach the real nginx proxies (Prometheus 9090 ->
8081, Grafana 80 -> 8080) instead of a guessed Grafana 3000 and Prometheus 9090."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import meshcharts
from meshcharts.components import external_catalog
from meshcharts.components.rancher_monitoring import EXTERNAL_TYPE
from meshcharts.helm import HelmClient
from tests.conftest import REPO_ROOT, StackDir

STACK = """\
name: demo
clusters:
  east: {{}}
components:
  kiali: {{type: kiali-server, version: 1.89.3, namespace: istio-system}}
  extras: {{type: mesh-extras, namespace: istio-system}}
external:
  prometheus:
    url: http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:9090
    monitors: {{mode: operator, labels: {{}}}}
{prometheus}
  grafana:
    url: http://rancher-monitoring-grafana.cattle-monitoring-system.svc:80
{grafana}
"""

TYPED = "    type: rancher-monitoring\n    version: {version}"


def _stack(stack_dir: StackDir, prometheus: str = TYPED.format(version="102.0.3+up40.1.2"), grafana: str = TYPED.format(version="102.0.3+up40.1.2")) -> StackDir:
    stack_dir.write("meshcharts.yaml", STACK.format(prometheus=prometheus, grafana=grafana))
    stack_dir.write("values/extras.yaml", "networkPolicies:\n  kiali: {namespace: istio-system}\n")
    return stack_dir


def _egress_ports(stack: StackDir) -> list[int]:
    composition = meshcharts.open_project(stack.root).compose("east", "extras")
    return [entry["port"] for entry in composition.values()["networkPolicies"]["kiali"]["egress"]["ports"]]


def _errors(stack: StackDir) -> list[dict[str, object]]:
    result = stack.cli("validate", "-o", "json")
    if result.exit_code == 2:
        return [{"text": line} for line in result.output.splitlines()]
    return json.loads(result.output)["errors"]


@pytest.mark.parametrize(
    "version",
    ["100.1.0+up19.0.3", "100.1.3+up19.0.3", "100.2.0+up40.1.2", "101.0.0+up19.0.3", "102.0.3+up40.1.2", "103.0.0+up45.31.1", "103.0.4+up45.31.1", "104.1.2+up57.0.3"],
)
def test_kiali_policy_opens_the_nginx_proxy_ports_of_every_version(stack_dir: StackDir, version: str) -> None:
    stack = _stack(stack_dir, TYPED.format(version=version), TYPED.format(version=version))
    ports = _egress_ports(stack)
    assert 8081 in ports and 8080 in ports  # Prometheus' and Grafana's proxies
    assert 3000 not in ports and 9090 not in ports  # the guesses: Grafana's own port, Prometheus' Service port


def test_without_a_type_the_service_port_is_all_meshcharts_can_use(stack_dir: StackDir) -> None:
    """Before: the Pod port was the Service port unless targetPort was typed (and the example typed 3000)."""
    stack = _stack(stack_dir, "", "")
    assert 9090 in _egress_ports(stack) and 80 in _egress_ports(stack)


def test_facts_record_the_pod_labels_the_services_select() -> None:
    old = EXTERNAL_TYPE.service("102.0.3+up40.1.2", "prometheus")
    new = EXTERNAL_TYPE.service("104.1.0+up57.0.3", "prometheus")
    grafana = EXTERNAL_TYPE.service("100.1.0+up19.0.3", "grafana")
    assert old is not None and new is not None and grafana is not None
    assert old.pod_labels == {"app.kubernetes.io/name": "prometheus", "prometheus": "rancher-monitoring-prometheus"}
    assert new.pod_labels == {"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": "rancher-monitoring-prometheus"}
    assert grafana.pod_labels == {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "rancher-monitoring"}
    assert (old.port, old.target_port, old.port_name, grafana.port, grafana.target_port) == (9090, 8081, "http-web", 80, 8080)
    assert EXTERNAL_TYPE.service("100.1.0+up19.0.3", "prometheus").port_name == "nginx-http"  # type: ignore[union-attr]


def test_the_wiring_carries_labels_and_port_names(stack_dir: StackDir) -> None:
    from meshcharts.wiring.engine import build_wiring

    stack = _stack(stack_dir)
    project = meshcharts.open_project(stack.root)
    wiring = build_wiring(project.stack, project.stack.clusters["east"], {c.component.name: c for c in project.compose_all("east")})
    (prometheus,) = wiring.providers("prometheus")
    assert (prometheus.pod_port, prometheus.port_name) == (8081, "http-web")
    assert prometheus.attributes["pod_labels"]["prometheus"] == "rancher-monitoring-prometheus"


@pytest.mark.parametrize(
    ("prometheus", "expected"),
    [
        ("    type: rancher-monitorng\n    version: 102.0.3+up40.1.2", 'unknown external type "rancher-monitorng"; meshcharts knows: rancher-monitoring (did you mean "rancher-monitoring"?)'),
        ("    type: rancher-monitoring", "type rancher-monitoring needs version: the chart version installed (e.g. version: 102.0.3+up40.1.2)"),
        ("    type: rancher-monitoring\n    version: 99.0.0", "rancher-monitoring 99.0.0 is not a version meshcharts has facts for (>=100.0.0, <105.0.0)"),
        ("    type: rancher-monitoring\n    version: banana", "'banana' is not a valid chart version"),
        ("    type: rancher-monitoring\n    version: 102.0.3+up40.1.2\n    targetPort: 9090",
         "rancher-monitoring 102.0.3+up40.1.2's rancher-monitoring-prometheus Service forwards port 9090 to Pod port 8081 (nginx-http), not 9090 (delete targetPort: it follows from type)"),
    ],
)
def test_bad_external_type_entries_are_one_line_at_the_key(stack_dir: StackDir, prometheus: str, expected: str) -> None:
    result = _stack(stack_dir, prometheus).cli("validate")
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if "external.prometheus" in line]
    assert len(lines) == 1 and expected in lines[0], result.output
    assert lines[0].startswith("meshcharts.yaml:1") and "Traceback" not in result.output


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("  tracing: {url: 'http://tracing.istio-system:16686', type: rancher-monitoring, version: 102.0.3+up40.1.2}\n",
         "meshcharts.yaml:6:61: external.tracing.type: rancher-monitoring provides grafana, prometheus, not tracing"),
        ("  prometheus:\n    url: http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:8081\n    type: rancher-monitoring\n    version: 102.0.3+up40.1.2\n",
         "meshcharts.yaml:7:10: external.prometheus.url: rancher-monitoring's rancher-monitoring-prometheus Service listens on port 9090, not 8081"),
    ],
    ids=["role the type does not provide", "url on the pod port"],
)
def test_entries_that_contradict_the_facts(stack_dir: StackDir, entry: str, expected: str) -> None:
    stack_dir.write("meshcharts.yaml", "name: demo\nclusters: {east: {}}\ncomponents:\n  extras: {type: mesh-extras}\nexternal:\n" + entry)
    result = stack_dir.cli("validate")
    assert result.exit_code == 2
    assert expected in result.output


def test_every_external_type_module_is_found() -> None:
    assert list(external_catalog()) == ["rancher-monitoring"]


def test_example_network_policy_lets_kiali_reach_rancher_monitoring(tmp_path: Path, helm_client: HelmClient) -> None:
    """Done means: the example's NetworkPolicy lets Kiali reach the real rancher-monitoring ports."""
    stack = StackDir(tmp_path / "example")
    StackDir(tmp_path).cli("init", "example", "--preset", "rancher")
    assert "targetPort" not in (stack.root / "meshcharts.yaml").read_text()
    assert stack.cli("render", "--cluster", "east").exit_code == 0
    folder = stack.root / "charts-out" / "east"
    import yaml

    values = yaml.safe_load((folder / "mesh-extras.values.yaml").read_text())
    manifests = helm_client.template("mesh-extras", folder / "mesh-extras", namespace="istio-system", values=values)
    (policy,) = [m for m in manifests if m["kind"] == "NetworkPolicy"]
    ports = {port["port"] for rule in policy["spec"]["egress"] for port in rule.get("ports", [])}
    assert {8081, 8080, 15014, 16686} <= ports
    assert REPO_ROOT.joinpath("meshcharts.yaml").read_text().count("type: rancher-monitoring") == 2
