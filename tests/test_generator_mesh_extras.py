"""The mesh-extras generator against the real helm binary: lint --strict and template on every variant.

What is pinned: the seeds' hand-applied objects come out of values (seed 000's Kiali NetworkPolicy and
ServiceMonitors, seed 001's NodePort Services, seed 004's scrape jobs, dashboards and Istio exposure),
the Python scrape jobs equal the chart's, the chart is byte-identical on re-run with a content-derived
version, a failed generation leaves nothing half-written, and the schema is strict and documented.
"""

from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from meshcharts.charts import (
    GeneratorError,
    chartwriter,
    generate_chart,
    generate_mesh_extras,
    istio_scrape_jobs,
    kps_grafana_dashboard_values,
    scrape_jobs_from_values,
)
from meshcharts.charts.mesh_extras import DEFAULT_VALUES, required_crds
from meshcharts.components import get_type
from meshcharts.helm import HelmClient, HelmError
from meshcharts.schema.store import load_schema, reference_validator

pytestmark = pytest.mark.helm

SCHEMA = "mesh-extras-1.schema.json"
VERSION_RE = re.compile(r"^1\.0\.0\+[0-9a-f]{12}$")


def render(client: HelmClient, chart: Path, values: dict[str, Any] | None = None, namespace: str = "obs") -> list[dict[str, Any]]:
    """lint --strict, then template: both must pass for every chart a test generates."""
    lint = client.lint(chart, values, strict=True)
    assert lint.ok, lint.messages
    return client.template("extras", chart, namespace=namespace, values=values)


def by_kind_name(docs: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- schema -----------------------------------------------------------------------------------------


def _walk_properties(node: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            found.append((f"{path}.{name}", sub))
        for key, sub in node.items():
            found.extend(_walk_properties(sub, f"{path}/{key}"))
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            found.extend(_walk_properties(sub, f"{path}[{index}]"))
    return found


def test_schema_is_2020_12_strict_and_documented() -> None:
    schema = load_schema(SCHEMA)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == f"https://meshcharts.dev/schemas/{SCHEMA}"
    undocumented = [path for path, sub in _walk_properties(schema) if "description" not in sub]
    assert not undocumented
    loose = [path for path, sub in _walk_properties(schema) if sub.get("type") == "object" and "properties" in sub and sub.get("additionalProperties") is not False]
    assert not loose


def test_defaults_satisfy_the_schema_and_match_its_default_annotations() -> None:
    assert not list(reference_validator(SCHEMA).iter_errors(DEFAULT_VALUES))
    schema = load_schema(SCHEMA)

    def check(node: dict[str, Any], values: dict[str, Any], path: str) -> None:
        for name, sub in (node.get("properties") or {}).items():
            if name in values and "default" in sub:
                assert values[name] == sub["default"], f"{path}.{name}"
            if name in values and isinstance(values[name], dict):
                check(sub, values[name], f"{path}.{name}")

    check(schema, DEFAULT_VALUES, "")


def test_component_type_is_generated_with_the_defaults() -> None:
    component_type = get_type("mesh-extras")
    assert component_type is not None and component_type.generated and component_type.repo == ""
    assert component_type.chart == "mesh-extras"
    assert component_type.choose_schema("1.0.0").line.schema == SCHEMA
    assert component_type.default_values("1.0.0") == DEFAULT_VALUES


def test_schema_errors_name_the_key(tmp_path: Path) -> None:
    with pytest.raises(GeneratorError) as caught:
        generate_mesh_extras({"monitors": {"envoy": {"kind": "Probe"}}, "typo": 1}, tmp_path)
    paths = {path for path, _ in caught.value.problems}
    assert {"monitors.envoy.kind", ""} <= paths
    assert not list(tmp_path.iterdir())


# --- rendering --------------------------------------------------------------------------------------


def test_defaults_render_istios_two_monitors(tmp_path: Path, helm_client: HelmClient) -> None:
    chart = generate_mesh_extras(None, tmp_path)
    assert VERSION_RE.match(chart.version)
    docs = by_kind_name(render(helm_client, chart.path))
    assert set(docs) == {("PodMonitor", "envoy-stats-monitor"), ("ServiceMonitor", "istio-component-monitor")}
    pod_monitor = docs[("PodMonitor", "envoy-stats-monitor")]
    assert pod_monitor["metadata"]["namespace"] == "obs"
    assert pod_monitor["metadata"]["labels"]["monitoring"] == "istio-proxies"
    assert pod_monitor["metadata"]["labels"]["helm.sh/chart"] == "mesh-extras-" + chart.version.replace("+", "_")
    endpoint = pod_monitor["spec"]["podMetricsEndpoints"][0]
    assert endpoint["path"] == "/stats/prometheus" and endpoint["interval"] == "15s"
    keep = endpoint["relabelings"][0]
    assert keep == {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_container_port_name"], "regex": ".*-envoy-prom"}
    assert endpoint["relabelings"][-1]["targetLabel"] == "pod_name"
    assert pod_monitor["spec"]["namespaceSelector"] == {"any": True}
    istiod = docs[("ServiceMonitor", "istio-component-monitor")]
    assert istiod["spec"]["endpoints"] == [{"port": "http-monitoring", "interval": "15s"}]
    assert istiod["spec"]["selector"] == {"matchExpressions": [{"key": "istio", "operator": "In", "values": ["pilot"]}]}


def test_seed_000_kiali_network_policy_and_service_monitors(tmp_path: Path, helm_client: HelmClient) -> None:
    values = {
        "commonLabels": {"team": "mesh"},
        "networkPolicies": {
            "np-kiali-ports": {
                "namespace": "istio-system",
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": "kiali"}},
                "egress": {"ports": [{"port": p, "protocol": "TCP"} for p in (8080, 8081, 9090, 16686)], "kubeApiServer": True},
                "ingress": {"ports": [{"port": 16686}, {"port": 8080}]},
            },
            "switched-off": {"enabled": False, "podSelector": {}, "egress": {}},
        },
        "monitors": {
            "namespace": "istio-system",
            "labels": {"release": "rancher-monitoring"},
            "envoy": {"kind": "ServiceMonitor"},
        },
        "exposure": {
            "navLinks": {
                "kiali": {"label": "Kiali", "group": "Istio", "toService": {"namespace": "istio-system", "name": "kiali", "port": 20001}},
                "jaeger": {"toService": {"namespace": "istio-system", "name": "tracing", "scheme": "http", "port": 16686, "path": "/jaeger/"}},
            }
        },
    }
    chart = generate_mesh_extras(values, tmp_path)
    docs = by_kind_name(render(helm_client, chart.path))
    assert ("NetworkPolicy", "switched-off") not in docs
    policy = docs[("NetworkPolicy", "np-kiali-ports")]
    assert policy["metadata"]["namespace"] == "istio-system"
    assert policy["metadata"]["labels"]["team"] == "mesh"
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "kiali"}}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["egress"][0]["ports"] == [{"port": p, "protocol": "TCP"} for p in (8080, 8081, 9090, 16686)]
    assert {"port": 53, "protocol": "UDP"} in spec["egress"][1]["ports"]
    assert spec["egress"][2]["ports"] == [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]
    assert spec["ingress"] == [{"ports": [{"port": 16686, "protocol": "TCP"}, {"port": 8080, "protocol": "TCP"}]}]
    envoy = docs[("ServiceMonitor", "envoy-stats-monitor")]
    assert envoy["metadata"]["labels"]["release"] == "rancher-monitoring"
    endpoint = envoy["spec"]["endpoints"][0]
    assert endpoint["targetPort"] == 15090 and endpoint["path"] == "/stats/prometheus"
    assert docs[("ServiceMonitor", "istio-component-monitor")]["metadata"]["labels"]["release"] == "rancher-monitoring"
    kiali_link = docs[("NavLink", "kiali")]
    assert kiali_link["apiVersion"] == "ui.cattle.io/v1" and "namespace" not in kiali_link["metadata"]
    assert kiali_link["spec"] == {
        "label": "Kiali",
        "group": "Istio",
        "toService": {"namespace": "istio-system", "name": "kiali", "scheme": "http", "port": "20001"},
    }
    assert docs[("NavLink", "jaeger")]["spec"]["toService"]["path"] == "/jaeger/"
    assert docs[("NavLink", "jaeger")]["spec"]["label"] == "jaeger"


def test_deny_and_dns_switches(tmp_path: Path, helm_client: HelmClient) -> None:
    values = {
        "monitors": {"enabled": False},
        "networkPolicies": {
            "deny-egress": {"podSelector": {}, "egress": {"dns": False}},
            "only-dns": {"podSelector": {"matchLabels": {"a": "b"}}, "egress": {}, "policyTypes": ["Egress"]},
        },
    }
    docs = by_kind_name(render(helm_client, generate_mesh_extras(values, tmp_path).path))
    assert docs[("NetworkPolicy", "deny-egress")]["spec"]["egress"] == []
    assert docs[("NetworkPolicy", "only-dns")]["spec"]["egress"] == [
        {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    ]
    assert set(docs) == {("NetworkPolicy", "deny-egress"), ("NetworkPolicy", "only-dns")}


def test_policy_without_direction_is_refused(tmp_path: Path) -> None:
    with pytest.raises(GeneratorError) as caught:
        generate_mesh_extras({"networkPolicies": {"x": {"podSelector": {}}}}, tmp_path)
    assert caught.value.problems[0][0] == "networkPolicies.x"


def test_seed_004_scrape_jobs_match_python(tmp_path: Path, helm_client: HelmClient) -> None:
    extra = {"job_name": "my-app", "static_configs": [{"targets": ["app:8080"]}]}
    values = {
        "monitors": {"enabled": False},
        "scrapeConfigs": {"enabled": True, "namespace": "monitoring", "secretName": "istio-jobs", "key": "istio.yaml", "istiodNamespace": "mesh", "extraJobs": [extra]},
    }
    docs = by_kind_name(render(helm_client, generate_mesh_extras(values, tmp_path).path))
    secret = docs[("Secret", "istio-jobs")]
    assert secret["metadata"]["namespace"] == "monitoring"
    jobs = yaml.safe_load(base64.b64decode(secret["data"]["istio.yaml"]))
    assert jobs == istio_scrape_jobs("mesh") + [extra]
    assert jobs == scrape_jobs_from_values(values)
    assert [job["job_name"] for job in jobs[:2]] == ["istiod", "envoy-stats"]
    assert jobs[0]["relabel_configs"][0]["regex"] == "istiod;http-monitoring"
    assert jobs[1]["metrics_path"] == "/stats/prometheus"


def test_scrape_jobs_switches(tmp_path: Path, helm_client: HelmClient) -> None:
    values = {"monitors": {"enabled": False}, "scrapeConfigs": {"enabled": True, "jobs": {"istiod": False}, "istiodService": "istiod-canary"}}
    docs = render(helm_client, generate_mesh_extras(values, tmp_path).path)
    jobs = yaml.safe_load(base64.b64decode(docs[0]["data"]["additional-scrape-configs.yaml"]))
    assert [job["job_name"] for job in jobs] == ["envoy-stats"] == [j["job_name"] for j in istio_scrape_jobs(istiod=False)]
    assert istio_scrape_jobs(istiod_service="istiod-canary")[0]["relabel_configs"][0]["regex"] == "istiod-canary;http-monitoring"


def test_dashboards_from_file_and_inline_keep_grafana_braces(tmp_path: Path, helm_client: HelmClient) -> None:
    board = {"title": "Istio Mesh", "panels": [{"legendFormat": "{{ destination_service }}: {{code}}"}]}
    (tmp_path / "boards").mkdir()
    (tmp_path / "boards" / "mesh.json").write_text(json.dumps(board), encoding="utf-8")
    values = {
        "monitors": {"enabled": False},
        "dashboards": {
            "namespace": "cattle-dashboards",
            "sidecarLabels": {"grafana_dashboard": "1", "extra": "yes"},
            "annotations": {"grafana_folder": "Istio"},
            "items": {
                "istio-mesh": {"file": "boards/mesh.json"},
                "inline-object": {"json": {"title": "x", "expr": "{{ a }}"}, "annotations": {"grafana_folder": "Other"}},
                "inline-text": {"json": '{"title": "t"}'},
                "off": {"enabled": False, "json": {}},
            },
        },
    }
    chart = generate_mesh_extras(values, tmp_path / "out", base_dir=tmp_path)
    assert "dashboards/istio-mesh.json" in chart.files
    docs = by_kind_name(render(helm_client, chart.path))
    assert set(docs) == {("ConfigMap", "istio-mesh"), ("ConfigMap", "inline-object"), ("ConfigMap", "inline-text")}
    mesh = docs[("ConfigMap", "istio-mesh")]
    assert mesh["metadata"]["namespace"] == "cattle-dashboards"
    assert mesh["metadata"]["labels"]["grafana_dashboard"] == "1" and mesh["metadata"]["labels"]["extra"] == "yes"
    assert mesh["metadata"]["annotations"] == {"grafana_folder": "Istio"}
    assert json.loads(mesh["data"]["istio-mesh.json"]) == board
    inline = docs[("ConfigMap", "inline-object")]
    assert json.loads(inline["data"]["inline-object.json"]) == {"title": "x", "expr": "{{ a }}"}
    assert inline["metadata"]["annotations"] == {"grafana_folder": "Other"}
    assert json.loads(docs[("ConfigMap", "inline-text")]["data"]["inline-text.json"]) == {"title": "t"}


def test_dashboard_file_problems(tmp_path: Path) -> None:
    (tmp_path / "list.json").write_text("[1]", encoding="utf-8")
    (tmp_path / "broken.json").write_text("{", encoding="utf-8")
    (tmp_path / "huge.json").write_text(json.dumps({"pad": "x" * (1024 * 1024)}), encoding="utf-8")
    items = {
        "missing": {"file": "nope.json"},
        "list": {"file": "list.json"},
        "broken": {"file": "broken.json"},
        "huge": {"file": "huge.json"},
        "text": {"json": "{x"},
    }
    with pytest.raises(GeneratorError) as caught:
        generate_mesh_extras({"dashboards": {"items": items}}, tmp_path / "out", base_dir=tmp_path)
    assert {path for path, _ in caught.value.problems} == {
        "dashboards.items.missing.file",
        "dashboards.items.list.file",
        "dashboards.items.broken.file",
        "dashboards.items.huge.file",
        "dashboards.items.text.json",
    }
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_dashboard_added_at_helm_time_without_its_file_fails(tmp_path: Path, helm_client: HelmClient) -> None:
    chart = generate_mesh_extras(None, tmp_path)
    with pytest.raises(HelmError) as caught:
        helm_client.template("x", chart.path, namespace="obs", values={"dashboards": {"items": {"late": {"file": "late.json"}}}})
    assert "dashboards.items.late.file" in str(caught.value)


def test_seed_001_nodeport_services(tmp_path: Path, helm_client: HelmClient) -> None:
    values = {
        "monitors": {"enabled": False},
        "exposure": {
            "nodePortServices": {
                "kiali-nodeport": {
                    "namespace": "istio-system",
                    "selector": {"app": "kiali"},
                    "ports": [{"name": "http", "port": 20001, "nodePort": 31673}, {"name": "http-metrics", "port": 9090, "nodePort": 30100}],
                },
                "tracing-nodeport": {
                    "namespace": "istio-system",
                    "selector": {"app": "jaeger"},
                    "externalTrafficPolicy": "Local",
                    "ports": [{"port": 80, "targetPort": 16686, "nodePort": 32438}],
                },
            }
        },
    }
    docs = by_kind_name(render(helm_client, generate_mesh_extras(values, tmp_path).path))
    kiali = docs[("Service", "kiali-nodeport")]
    assert kiali["spec"]["type"] == "NodePort" and kiali["spec"]["selector"] == {"app": "kiali"}
    assert [(p["name"], p["port"], p["targetPort"], p["nodePort"], p["protocol"]) for p in kiali["spec"]["ports"]] == [
        ("http", 20001, 20001, 31673, "TCP"),
        ("http-metrics", 9090, 9090, 30100, "TCP"),
    ]
    tracing = docs[("Service", "tracing-nodeport")]
    assert tracing["spec"]["externalTrafficPolicy"] == "Local"
    assert tracing["spec"]["ports"] == [{"port": 80, "targetPort": 16686, "nodePort": 32438, "protocol": "TCP"}]


def test_nodeport_clashes_and_unnamed_ports_are_refused(tmp_path: Path) -> None:
    services = {
        "a": {"selector": {"app": "a"}, "ports": [{"port": 80, "nodePort": 30080}, {"port": 81}]},
        "b": {"selector": {"app": "b"}, "ports": [{"name": "http", "port": 80, "nodePort": 30080}]},
    }
    with pytest.raises(GeneratorError) as caught:
        generate_mesh_extras({"exposure": {"nodePortServices": services}}, tmp_path)
    assert sorted(path for path, _ in caught.value.problems) == [
        "exposure.nodePortServices.a.ports.0.name",
        "exposure.nodePortServices.a.ports.1.name",
        "exposure.nodePortServices.b.ports.0.nodePort",
    ]


def test_seed_004_istio_gateway_and_virtual_service(tmp_path: Path, helm_client: HelmClient) -> None:
    values = {
        "monitors": {"enabled": False},
        "clusterDomain": "mesh.local",
        "exposure": {
            "istio": {
                "kiali": {
                    "namespace": "istio-system",
                    "host": "kiali.example.com",
                    "service": {"name": "kiali", "port": 20001},
                    "gateway": {"tls": {"credentialName": "kiali-cert"}, "selector": {"istio": "eastwestgateway"}},
                },
                "grafana": {
                    "host": "grafana.example.com",
                    "path": "/",
                    "apiVersion": "networking.istio.io/v1",
                    "service": {"name": "grafana", "namespace": "grafana", "port": 80},
                    "gateway": {"existing": "istio-system/public"},
                },
            }
        },
    }
    docs = by_kind_name(render(helm_client, generate_mesh_extras(values, tmp_path).path, namespace="tools"))
    assert set(docs) == {("Gateway", "kiali"), ("VirtualService", "kiali"), ("VirtualService", "grafana")}
    gateway = docs[("Gateway", "kiali")]
    assert gateway["apiVersion"] == "networking.istio.io/v1beta1"
    assert gateway["spec"]["selector"] == {"istio": "eastwestgateway"}
    assert gateway["spec"]["servers"] == [
        {
            "hosts": ["kiali.example.com"],
            "port": {"name": "https-kiali", "number": 443, "protocol": "HTTPS"},
            "tls": {"credentialName": "kiali-cert", "mode": "SIMPLE"},
        }
    ]
    kiali = docs[("VirtualService", "kiali")]["spec"]
    assert kiali["gateways"] == ["istio-system/kiali"]
    assert kiali["http"] == [{"route": [{"destination": {"host": "kiali.istio-system.svc.mesh.local", "port": {"number": 20001}}}]}]
    grafana = docs[("VirtualService", "grafana")]
    assert grafana["apiVersion"] == "networking.istio.io/v1" and grafana["metadata"]["namespace"] == "tools"
    assert grafana["spec"]["gateways"] == ["istio-system/public"]
    assert grafana["spec"]["http"][0]["match"] == [{"uri": {"prefix": "/"}}]
    assert grafana["spec"]["http"][0]["route"][0]["destination"]["host"] == "grafana.grafana.svc.mesh.local"


def test_everything_switched_off_renders_nothing(tmp_path: Path, helm_client: HelmClient) -> None:
    values = {"monitors": {"enabled": False}, "dashboards": {"enabled": False, "items": {"x": {"json": {}}}}}
    assert render(helm_client, generate_mesh_extras(values, tmp_path).path) == []


def test_helm_rejects_values_outside_the_chart_schema(tmp_path: Path, helm_client: HelmClient) -> None:
    chart = generate_mesh_extras(None, tmp_path)
    schema = json.loads((chart.path / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#" and "$id" not in schema
    with pytest.raises(HelmError):
        helm_client.template("x", chart.path, namespace="obs", values={"monitors": {"envoy": {"kind": "Probe"}}})
    assert not helm_client.lint(chart.path, {"exposure": {"navLinks": {"k": {"label": "no target"}}}}).ok


# --- the writer -------------------------------------------------------------------------------------


def test_output_is_byte_identical_and_version_follows_content(tmp_path: Path) -> None:
    values = {"networkPolicies": {"k": {"podSelector": {}, "ingress": {}}}, "dashboards": {"items": {"d": {"json": {"a": 1}}}}}
    first = generate_mesh_extras(values, tmp_path / "a")
    second = generate_mesh_extras(values, tmp_path / "b")
    assert tree_bytes(first.path) == tree_bytes(second.path)
    assert first.version == second.version and first.digest == second.digest
    assert first.digest == (first.path / "Chart.yaml").read_text().split("meshcharts.dev/digest: ")[1].split("\n")[0]
    assert first.files == tuple(sorted(tree_bytes(first.path)))
    mtimes = {p: p.stat().st_mtime_ns for p in first.path.rglob("*")}
    again = generate_mesh_extras(values, tmp_path / "a")
    assert again == first and {p: p.stat().st_mtime_ns for p in first.path.rglob("*")} == mtimes
    other_values = generate_mesh_extras({"monitors": {"enabled": False}}, tmp_path / "c")
    assert other_values.version == first.version  # values are not the chart
    (tmp_path / "x.json").write_text('{"t": 1}', encoding="utf-8")
    with_file = generate_mesh_extras({"dashboards": {"items": {"f": {"file": "x.json"}}}}, tmp_path / "d", base_dir=tmp_path)
    assert with_file.version != first.version  # a packaged file is content
    pinned = generate_chart("mesh-extras", None, tmp_path / "e", version="1.2.0+old", dir_name="extras-east")
    assert pinned.path == tmp_path / "e" / "extras-east" and re.match(r"^1\.2\.0\+[0-9a-f]{12}$", pinned.version)
    assert yaml.safe_load((pinned.path / "Chart.yaml").read_text())["version"] == pinned.version


def test_values_yaml_is_defaults_with_given_values_and_nulls_delete(tmp_path: Path) -> None:
    chart = generate_mesh_extras({"monitors": {"labels": {"release": "kps"}, "istiod": None}}, tmp_path)
    written = yaml.safe_load((chart.path / "values.yaml").read_text())
    assert written["monitors"]["labels"] == {"release": "kps"}
    assert "istiod" not in written["monitors"]
    assert written["dashboards"] == DEFAULT_VALUES["dashboards"]


def test_a_failed_write_leaves_the_old_chart_and_no_debris(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    old = generate_mesh_extras(None, tmp_path)
    before = tree_bytes(old.path)
    calls = {"n": 0}
    real_chmod = os.chmod

    def failing_chmod(path: Any, mode: int) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            raise OSError(28, "No space left on device")
        real_chmod(path, mode)

    monkeypatch.setattr(chartwriter.os, "chmod", failing_chmod)
    with pytest.raises(OSError):
        generate_mesh_extras({"monitors": {"enabled": False}}, tmp_path)
    assert tree_bytes(old.path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["mesh-extras"]


def test_required_crds_follow_the_values() -> None:
    assert required_crds({}) == {"monitoring.coreos.com": ["PodMonitor", "ServiceMonitor"]}
    assert required_crds({"monitors": {"envoy": {"kind": "ServiceMonitor"}}}) == {"monitoring.coreos.com": ["ServiceMonitor"]}
    exposure = {
        "navLinks": {"k": {"toURL": "https://x"}},
        "istio": {"k": {"host": "k.example.com", "service": {"name": "k", "port": 1}, "gateway": {"existing": "a/b"}}},
    }
    assert required_crds({"monitors": {"enabled": False}, "exposure": exposure}) == {
        "ui.cattle.io": ["NavLink"],
        "networking.istio.io": ["VirtualService"],
    }


# --- kube-prometheus-stack dashboards -----------------------------------------------------------------


def test_kps_dashboard_values_for_the_seed_004_ids() -> None:
    values = kps_grafana_dashboard_values({7645: 260, 7639: 260, 11829: 260, 7636: 260, 7630: 260, 13277: 217})
    grafana = values["grafana"]
    boards = grafana["dashboards"]["istio"]
    assert sorted(board["gnetId"] for board in boards.values()) == [7630, 7636, 7639, 7645, 11829, 13277]
    assert boards["istio-control-plane"] == {"gnetId": 7645, "revision": 260, "datasource": "Prometheus"}
    assert boards["istio-wasm-extension"]["revision"] == 217
    provider = grafana["dashboardProviders"]["dashboardproviders.yaml"]["providers"][0]
    assert provider["name"] == "istio" and provider["options"]["path"] == "/var/lib/grafana/dashboards/istio"
    same = kps_grafana_dashboard_values(5, datasource="Thanos", provider="mesh", folder="Mesh")["grafana"]
    assert {board["revision"] for board in same["dashboards"]["mesh"].values()} == {5}
    assert {board["datasource"] for board in same["dashboards"]["mesh"].values()} == {"Thanos"}
    with pytest.raises(ValueError, match="13277"):
        kps_grafana_dashboard_values({7645: 1, 7639: 1, 11829: 1, 7636: 1, 7630: 1})
    with pytest.raises(ValueError):
        kps_grafana_dashboard_values(0)


def test_chart_templates_are_the_packaged_ones(tmp_path: Path) -> None:
    from meshcharts.charts.common import packaged_templates

    chart = generate_mesh_extras(None, tmp_path)
    packaged = packaged_templates("mesh-extras")
    assert "templates/_helpers.tpl" in packaged and "templates/monitors.yaml" in packaged
    assert {rel for rel in chart.files if rel.startswith("templates/")} == set(packaged)
    assert all((chart.path / rel).read_text(encoding="utf-8") == text for rel, text in packaged.items())
