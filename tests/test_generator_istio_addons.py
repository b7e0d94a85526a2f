"""The istio-addons generator against the real helm binary, on hand-written addon-like fixtures.

What is pinned: the manifests come out of ``helm template`` exactly as they went in (Grafana's
``{{ }}`` formats included) unless values change them; namespace, Service types, nodePorts, labels and
Kiali's config are values with Helm's merge semantics (``false`` and ``null`` overrides work); Zipkin
and Jaeger cannot both be on; the Prometheus Operator monitors are a separate addon, off by default.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jsonschema
import pytest
import yaml

from meshcharts.charts import GeneratorError, generate_chart, generate_istio_addons
from meshcharts.charts.addons_render import escape_braces
from meshcharts.charts.addons_source import load_addons
from meshcharts.components import get_type
from meshcharts.core.diagnostics import InvalidInput, Location
from meshcharts.helm import HelmClient, HelmError
from meshcharts.schema.store import load_schema

pytestmark = pytest.mark.helm

FIXTURE = Path(__file__).parent / "fixtures" / "addons" / "istio-1.99.0"
ADDONS = FIXTURE / "samples" / "addons"
SCHEMA = "istio-addons-1.schema.json"


def render(client: HelmClient, chart: Path, values: dict[str, Any] | None = None, namespace: str = "istio-system") -> dict[tuple[str, str], dict[str, Any]]:
    lint = client.lint(chart, values, strict=True)
    assert lint.ok, lint.messages
    docs = client.template("addons", chart, namespace=namespace, values=values)
    found = {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}
    assert len(found) == len(docs), "two objects with the same kind and name"
    return found


def fixture_objects(*files: str) -> dict[tuple[str, str], dict[str, Any]]:
    found = {}
    for name in files:
        for doc in yaml.safe_load_all((ADDONS / name).read_text()):
            if doc:
                found[(doc["kind"], doc["metadata"]["name"])] = doc
    return found


def normalised(doc: dict[str, Any]) -> dict[str, Any]:
    """Drop what the chart changes on purpose: empty metadata maps, the implicit ClusterIP type, Kiali's checksum
    and config formatting."""
    doc = copy.deepcopy(doc)
    metadata = doc["metadata"]
    for key in ("labels", "annotations"):
        if key in metadata and not metadata[key]:
            del metadata[key]
    if doc["kind"] == "Service":
        doc["spec"].setdefault("type", "ClusterIP")
    annotations = doc.get("spec", {}).get("template", {}).get("metadata", {}).get("annotations") or {}
    annotations.pop("checksum/config", None)
    if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "kiali":
        doc["data"]["config.yaml"] = yaml.safe_load(doc["data"]["config.yaml"])  # Helm's toYaml sorts the keys
    return doc


# --- reading the source -----------------------------------------------------------------------------


def test_addons_are_grouped_per_file() -> None:
    source = load_addons(FIXTURE)
    assert source.root == ADDONS and source.istio_version == "1.99.0" and source.source_namespace == "istio-system"
    assert list(source.addons) == ["kiali", "jaeger", "prometheus", "grafana", "zipkin", "prometheus-operator-monitors"]
    assert [obj.name for obj in source.addons["jaeger"].services()] == ["tracing", "zipkin", "jaeger-collector"]
    assert {obj.kind for obj in source.addons["prometheus-operator-monitors"].objects} == {"PodMonitor", "ServiceMonitor"}
    assert source.skipped == ("extras/skywalking.yaml",)
    assert load_addons(ADDONS).addons.keys() == source.addons.keys()


def test_not_an_addons_directory(tmp_path: Path) -> None:
    with pytest.raises(GeneratorError) as caught:
        generate_istio_addons(None, tmp_path / "out", source=tmp_path)
    assert caught.value.problems[0][0] == "source"
    (tmp_path / "kiali.yaml").write_text("kind: [unclosed", encoding="utf-8")
    with pytest.raises(GeneratorError, match="kiali.yaml is not valid YAML"):
        generate_istio_addons(None, tmp_path / "out", source=tmp_path)
    (tmp_path / "kiali.yaml").write_text("just: a map\n", encoding="utf-8")
    with pytest.raises(GeneratorError, match="not a Kubernetes object"):
        generate_istio_addons(None, tmp_path / "out", source=tmp_path)


# --- schema and type --------------------------------------------------------------------------------


def test_component_schema_is_2020_12_strict_and_documented() -> None:
    schema = load_schema(SCHEMA)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"https://meshcharts.dev/schemas/{SCHEMA}"

    def walk(node: Any, path: str = "") -> list[str]:
        bad = []
        if isinstance(node, dict):
            for name, sub in (node.get("properties") or {}).items():
                if "description" not in sub:
                    bad.append(f"{path}.{name}")
            for key, sub in node.items():
                bad.extend(walk(sub, f"{path}/{key}"))
        return bad

    assert not walk(schema)
    assert schema["additionalProperties"] is False and schema["$defs"]["addon"]["additionalProperties"] is False


def test_component_type() -> None:
    component_type = get_type("istio-addons")
    assert component_type is not None and component_type.generated and component_type.chart == "istio-addons"
    assert component_type.default_values("1.0.0")["zipkin"] == {"enabled": False}
    assert component_type.default_values("1.0.0")["prometheusOperatorMonitors"] == {"enabled": False}
    component = SimpleNamespace(name="addons", namespace="istio-system")
    roles = {(e.role, e.service, e.port, e.pod_port, e.grpc) for e in component_type.endpoints(component, {"namespace": "obs"})}
    assert ("tracing", "tracing", 80, 16686, False) in roles and ("tracing", "tracing", 16685, 16685, True) in roles
    assert ("prometheus", "prometheus", 9090, 9090, False) in roles and ("grafana", "grafana", 3000, 3000, False) in roles
    assert {e.namespace for e in component_type.endpoints(component, {"namespace": "obs"})} == {"obs"}
    assert not [e for e in component_type.endpoints(component, {"kiali": {"enabled": False}}) if e.role == "kiali"]
    assert component_type.required_crds(component, {}) == {}
    assert component_type.required_crds(component, {"prometheusOperatorMonitors": {"enabled": True}}) == {
        "monitoring.coreos.com": ["PodMonitor", "ServiceMonitor"]
    }


# --- rendering --------------------------------------------------------------------------------------


def test_default_chart_reproduces_the_manifests(tmp_path: Path, helm_client: HelmClient) -> None:
    chart = generate_istio_addons(None, tmp_path, source=FIXTURE)
    assert chart.notes == ("skipped extras/skywalking.yaml: not an addon meshcharts knows",)
    meta = yaml.safe_load((chart.path / "Chart.yaml").read_text())
    assert meta["appVersion"] == "1.99.0" and re.match(r"^1\.0\.0\+[0-9a-f]{12}$", meta["version"])
    rendered = render(helm_client, chart.path)
    expected = fixture_objects("kiali.yaml", "jaeger.yaml", "prometheus.yaml", "grafana.yaml")
    assert set(rendered) == set(expected)  # zipkin and the operator monitors are off by default
    for key, doc in expected.items():
        assert normalised(rendered[key]) == normalised(doc), key
    dashboard = rendered[("ConfigMap", "istio-grafana-dashboards")]["data"]["mesh-dashboard.json"]
    assert "{{ destination_service }}" in dashboard and "{{component}}: {{tag}} }}" in dashboard


def test_namespace_follows_and_kiali_config_is_a_value(tmp_path: Path, helm_client: HelmClient) -> None:
    values = {
        "namespace": "observability",
        "kiali": {
            "config": {
                "external_services": {
                    "prometheus": {"url": "http://prom-kube-prometheus-stack-prometheus.monitoring:9090"},
                    "grafana": {"in_cluster_url": "http://prom-grafana.monitoring:80"},
                    "tracing": {"enabled": False},
                    "custom_dashboards": None,
                }
            }
        },
    }
    chart = generate_istio_addons(values, tmp_path, source=FIXTURE)
    rendered = render(helm_client, chart.path, namespace="ignored")
    namespaced = [doc for (kind, _), doc in rendered.items() if kind not in ("ClusterRole", "ClusterRoleBinding")]
    assert {doc["metadata"]["namespace"] for doc in namespaced} == {"observability"}
    assert "namespace" not in rendered[("ClusterRole", "kiali")]["metadata"]
    assert rendered[("ClusterRoleBinding", "kiali")]["subjects"][0]["namespace"] == "observability"
    assert rendered[("ClusterRoleBinding", "prometheus")]["subjects"][0]["namespace"] == "observability"
    text = rendered[("ConfigMap", "kiali")]["data"]["config.yaml"]
    config = yaml.safe_load(text)
    external = config["external_services"]
    assert external["prometheus"]["url"] == "http://prom-kube-prometheus-stack-prometheus.monitoring:9090"
    assert external["grafana"] == {"in_cluster_url": "http://prom-grafana.monitoring:80"}
    assert external["tracing"] == {"enabled": False}  # false overrides the addon's true
    assert "custom_dashboards" not in external  # null deletes
    assert external["istio"] == {"root_namespace": "istio-system"}  # the rest of the addon's config stays
    assert config["deployment"]["namespace"] == "observability"
    assert config["istio_namespace"] == "istio-system"  # where Istio lives, not Kiali
    assert config["deployment"]["logger"]["time_field_format"] == "2006-01-02T15:04:05Z07:00"
    pod = rendered[("Deployment", "kiali")]["spec"]["template"]["metadata"]["annotations"]
    assert pod["checksum/config"] == hashlib.sha256(text.removesuffix("\n").encode()).hexdigest()
    written = yaml.safe_load((chart.path / "values.yaml").read_text())
    assert "custom_dashboards" not in written["kiali"]["config"]["external_services"]
    assert "namespace" not in written["kiali"]["config"]["deployment"]


def test_kiali_config_overrides_at_helm_time(tmp_path: Path, helm_client: HelmClient) -> None:
    chart = generate_istio_addons(None, tmp_path, source=FIXTURE)
    values = {"kiali": {"config": {"auth": {"strategy": "token"}, "external_services": {"tracing": {"enabled": False}}}}}
    config = yaml.safe_load(render(helm_client, chart.path, values)[("ConfigMap", "kiali")]["data"]["config.yaml"])
    assert config["auth"] == {"strategy": "token"}
    assert config["external_services"]["tracing"] == {"enabled": False}
    assert config["external_services"]["custom_dashboards"] == {"enabled": True}


def test_seed_001_service_types_and_node_ports(tmp_path: Path, helm_client: HelmClient) -> None:
    values = {
        "kiali": {"services": {"kiali": {"type": "NodePort", "nodePorts": {"http": 31673, "http-metrics": 30100}}}},
        "prometheus": {"services": {"prometheus": {"type": "NodePort", "nodePorts": {"http": 30082}}}},
        "grafana": {"services": {"grafana": {"type": "NodePort"}}},
        "jaeger": {"services": {"tracing": {"type": "LoadBalancer", "nodePorts": {"http-query": 32438}}}},
    }
    chart = generate_istio_addons(values, tmp_path, source=FIXTURE)
    rendered = render(helm_client, chart.path)
    kiali = rendered[("Service", "kiali")]["spec"]
    assert kiali["type"] == "NodePort"
    assert [(p["name"], p["port"], p.get("nodePort")) for p in kiali["ports"]] == [("http", 20001, 31673), ("http-metrics", 9090, 30100)]
    assert rendered[("Service", "prometheus")]["spec"]["ports"][0]["nodePort"] == 30082
    grafana = rendered[("Service", "grafana")]["spec"]
    assert grafana["type"] == "NodePort" and "nodePort" not in grafana["ports"][0]
    tracing = rendered[("Service", "tracing")]["spec"]
    assert tracing["type"] == "LoadBalancer"
    assert [(p["name"], p.get("nodePort")) for p in tracing["ports"]] == [("http-query", 32438), ("grpc-query", None)]
    assert rendered[("Service", "zipkin")]["spec"]["type"] == "ClusterIP"


def test_node_ports_need_a_node_port_type(tmp_path: Path, helm_client: HelmClient) -> None:
    with pytest.raises(GeneratorError) as caught:
        generate_istio_addons({"grafana": {"services": {"grafana": {"nodePorts": {"service": 30699}}}}}, tmp_path, source=FIXTURE)
    assert caught.value.problems == [("grafana.services.grafana.type", "nodePorts are set but the type is ClusterIP; use NodePort or LoadBalancer")]
    chart = generate_istio_addons(None, tmp_path, source=FIXTURE)
    with pytest.raises(HelmError, match="grafana.services.grafana.nodePorts.service: a nodePort needs type NodePort"):
        helm_client.template("x", chart.path, namespace="istio-system", values={"grafana": {"services": {"grafana": {"nodePorts": {"service": 30699}}}}})


def test_unknown_services_and_ports_are_refused(tmp_path: Path, helm_client: HelmClient) -> None:
    with pytest.raises(GeneratorError) as caught:
        generate_istio_addons(
            {"kiali": {"services": {"kiali": {"type": "NodePort", "nodePorts": {"https": 30443}}, "kiali-typo": {}}}}, tmp_path, source=FIXTURE
        )
    assert {path for path, _ in caught.value.problems} == {"kiali.services", "kiali.services.kiali.nodePorts"}
    with pytest.raises(GeneratorError) as caught:
        generate_istio_addons({"loki": {"enabled": True}}, tmp_path, source=FIXTURE)
    assert caught.value.problems[0][0] == ""
    chart = generate_istio_addons(None, tmp_path, source=FIXTURE)
    assert not helm_client.lint(chart.path, {"jaeger": {"services": {"tracing": {"nodePorts": {"nope": 30000}}}}}).ok


def test_zipkin_instead_of_jaeger(tmp_path: Path, helm_client: HelmClient) -> None:
    with pytest.raises(GeneratorError, match="jaeger and zipkin both create Service tracing, Service zipkin"):
        generate_istio_addons({"zipkin": {"enabled": True}}, tmp_path, source=FIXTURE)
    chart = generate_istio_addons({"zipkin": {"enabled": True}, "jaeger": {"enabled": False}}, tmp_path, source=FIXTURE)
    rendered = render(helm_client, chart.path)
    assert ("Deployment", "zipkin") in rendered and ("Deployment", "jaeger") not in rendered
    assert rendered[("Service", "tracing")]["spec"]["selector"] == {"app": "zipkin"}
    assert rendered[("Service", "tracing")]["spec"]["ports"][0]["targetPort"] == 9411
    with pytest.raises(HelmError, match="enable only one of them"):
        helm_client.template("x", chart.path, namespace="istio-system", values={"jaeger": {"enabled": True}})


def test_prometheus_operator_monitors_with_the_kps_release_label(tmp_path: Path, helm_client: HelmClient) -> None:
    values = {
        "kiali": {"enabled": False},
        "jaeger": {"enabled": False},
        "prometheus": {"enabled": False},
        "grafana": {"enabled": False},
        "prometheusOperatorMonitors": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}},
    }
    rendered = render(helm_client, generate_istio_addons(values, tmp_path, source=FIXTURE).path, namespace="monitoring")
    assert set(rendered) == {("PodMonitor", "envoy-stats-monitor"), ("ServiceMonitor", "istio-component-monitor")}
    pod_monitor = rendered[("PodMonitor", "envoy-stats-monitor")]
    assert pod_monitor["metadata"]["labels"] == {"monitoring": "istio-proxies", "release": "kube-prometheus-stack"}
    assert pod_monitor["metadata"]["namespace"] == "monitoring"
    assert pod_monitor["spec"] == fixture_objects("extras/prometheus-operator.yaml")[("PodMonitor", "envoy-stats-monitor")]["spec"]


def test_only_some_addons_in_the_source(tmp_path: Path, helm_client: HelmClient) -> None:
    partial = tmp_path / "istio-1.98.1" / "samples" / "addons"
    partial.mkdir(parents=True)
    shutil.copy(ADDONS / "kiali.yaml", partial)
    shutil.copy(ADDONS / "prometheus.yaml", partial)
    with pytest.raises(GeneratorError, match="has no grafana.yaml"):
        generate_istio_addons({"grafana": {"enabled": True}}, tmp_path / "out", source=partial.parent.parent)
    chart = generate_istio_addons({"grafana": {"enabled": False}}, tmp_path / "out", source=partial.parent.parent)
    assert "dropped grafana: " in " ".join(chart.notes)
    assert "templates/checks.yaml" not in chart.files and "templates/grafana.yaml" not in chart.files
    rendered = render(helm_client, chart.path)
    assert {kind for kind, _ in rendered} >= {"Deployment", "ConfigMap", "Service"}
    schema = json.loads((chart.path / "values.schema.json").read_text())
    assert set(schema["properties"]) == {"namespace", "kiali", "prometheus"}
    assert yaml.safe_load((chart.path / "Chart.yaml").read_text())["appVersion"] == "1.98.1"


def test_deterministic_and_versioned_by_content(tmp_path: Path) -> None:
    first = generate_istio_addons({"kiali": {"labels": {"a": "b"}}}, tmp_path / "a", source=FIXTURE)
    second = generate_istio_addons({"kiali": {"labels": {"a": "b"}}}, tmp_path / "b", source=FIXTURE)
    tree = lambda root: {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}  # noqa: E731
    assert tree(first.path) == tree(second.path) and first.version == second.version
    assert generate_istio_addons(None, tmp_path / "c", source=FIXTURE).version == first.version
    changed = tmp_path / "src" / "istio-1.99.0"
    shutil.copytree(FIXTURE, changed)
    deployment = changed / "samples" / "addons" / "prometheus.yaml"
    deployment.write_text(deployment.read_text().replace("v0.0-test", "v0.1-test"), encoding="utf-8")
    assert generate_istio_addons(None, tmp_path / "d", source=changed).version != first.version
    via_dispatch = generate_chart("istio-addons", None, tmp_path, source="istio-1.99.0", base_dir=FIXTURE.parent, dir_name="addons")
    assert via_dispatch.version == generate_istio_addons(None, tmp_path / "e", source=FIXTURE).version
    with pytest.raises(GeneratorError):
        generate_chart("istio-addons", None, tmp_path)


def test_template_text_escapes_helm_delimiters(tmp_path: Path) -> None:
    assert escape_braces('{"legendFormat": "{{ a }}"}') == '{"legendFormat": "{{ "{{" }} a }}"}'
    chart = generate_istio_addons(None, tmp_path, source=FIXTURE)
    grafana = (chart.path / "templates" / "grafana.yaml").read_text()
    assert '{{ "{{" }} destination_service }}' in grafana


def test_generate_through_the_component_type(tmp_path: Path) -> None:
    component_type = get_type("istio-addons")
    assert component_type is not None
    stack_file = FIXTURE.parent / "meshcharts.yaml"
    location = Location(str(stack_file), 7, 3)

    def composition(source: str | None, values: dict[str, Any]) -> SimpleNamespace:
        component = SimpleNamespace(name="addons", source=source, version="1.0.0", location=location, namespace="istio-system")
        return SimpleNamespace(
            component=component,
            cluster=SimpleNamespace(name="east"),
            values=lambda secrets="keep": values,
            origin=lambda path: SimpleNamespace(location=Location("values/addons.yaml", 3, 5)) if path == ("zipkin",) else None,
        )

    version = component_type.generate(composition("istio-1.99.0", {}), tmp_path / "addons")
    assert re.match(r"^1\.0\.0\+[0-9a-f]{12}$", version) and (tmp_path / "addons" / "Chart.yaml").is_file()
    with pytest.raises(InvalidInput) as caught:
        component_type.generate(composition("istio-1.99.0", {"zipkin": {"enabled": True}}), tmp_path / "addons")
    diagnostic = caught.value.diagnostics[0]
    assert (diagnostic.path, diagnostic.location, diagnostic.cluster, diagnostic.component) == (
        "zipkin.enabled",
        Location("values/addons.yaml", 3, 5),
        "east",
        "addons",
    )
    with pytest.raises(InvalidInput) as caught:
        component_type.generate(composition(None, {}), tmp_path / "addons")
    assert caught.value.diagnostics[0].path == "source"


@pytest.mark.reference
@pytest.mark.parametrize("istio", ["1.13.9", "1.30.3"])
def test_real_istio_addons_round_trip(istio: str, reference_charts: Path, tmp_path: Path, helm_client: HelmClient) -> None:
    """Istio's own samples/addons (read from ../shared/reference, never copied) come out unchanged."""
    source = reference_charts / "istio-addons" / istio
    chart = generate_istio_addons({"prometheusOperatorMonitors": {"enabled": True}}, tmp_path, source=source)
    assert yaml.safe_load((chart.path / "Chart.yaml").read_text())["appVersion"] == istio
    rendered = render(helm_client, chart.path)
    expected: dict[tuple[str, str], dict[str, Any]] = {}
    for name in ("kiali.yaml", "jaeger.yaml", "prometheus.yaml", "grafana.yaml", "extras/prometheus-operator.yaml"):
        for doc in yaml.safe_load_all((source / name).read_text()):
            if doc:
                expected[(doc["kind"], doc["metadata"]["name"])] = doc
    assert set(rendered) == set(expected)
    for key, doc in expected.items():
        assert normalised(rendered[key]) == normalised(doc), key
