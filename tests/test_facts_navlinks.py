"""Rancher NavLinks follow the Service and web root of what they open; typed ones are checked.

rancher-kiali-server serves Kiali under ``server.web_root`` (``/kiali`` by default on Kubernetes), so the
example's ``path: /`` opened a 404; a port the Service does not have makes Rancher's proxy answer 503
"no service port ... found".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import meshcharts
from meshcharts.helm import HelmClient
from tests.conftest import StackDir

STACK = """\
name: demo
clusters:
  east: {crds: [ui.cattle.io]}
components:
  kiali: {type: rancher-kiali-server, version: 100.0.0+up1.35.0, namespace: istio-system}
  tracing: {type: rancher-tracing, version: 100.0.0, namespace: istio-system}
  extras: {type: mesh-extras, namespace: istio-system}
external:
  prometheus: {url: "http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:9090", monitors: {mode: operator}}
"""
KIALI = "deployment:\n  ingress_enabled: false\n"


def _stack(stack_dir: StackDir, links: str, kiali: str = KIALI) -> StackDir:
    stack_dir.write("meshcharts.yaml", STACK)
    stack_dir.write("values/kiali.yaml", kiali)
    stack_dir.write("values/extras.yaml", "exposure:\n  navLinks:\n" + links)
    return stack_dir


def _link(stack: StackDir, name: str) -> dict[str, str]:
    values = meshcharts.open_project(stack.root).compose("east", "extras").values()
    return dict(values["exposure"]["navLinks"][name]["toService"])


def _errors(stack: StackDir) -> list[dict[str, object]]:
    return [e for e in json.loads(stack.cli("validate", "-o", "json").output)["errors"] if e["rule"] == "wiring.navlink"]


def test_a_link_named_kiali_opens_kiali_under_its_web_root(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir, "    kiali: {label: Kiali}\n    jaeger: {label: Jaeger}\n")
    assert _link(stack, "kiali") == {"namespace": "istio-system", "name": "kiali", "scheme": "http", "port": "20001", "path": "/kiali"}
    assert _link(stack, "jaeger") == {"namespace": "istio-system", "name": "tracing", "scheme": "http", "port": "16686", "path": "/jaeger"}
    assert _errors(stack) == []


def test_the_path_follows_the_web_root_the_values_set(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir, "    kiali: {label: Kiali}\n", KIALI + "server:\n  web_root: /mesh/kiali\n")
    assert _link(stack, "kiali")["path"] == "/mesh/kiali"


def test_a_typed_service_without_path_gets_the_web_root(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir, '    console:\n      toService: {namespace: istio-system, name: kiali, port: "20001"}\n')
    assert _link(stack, "console")["path"] == "/kiali"


def test_path_outside_the_web_root_is_an_error_where_it_was_typed(stack_dir: StackDir) -> None:
    """Seed 000's NavLink: path / on a Kiali that serves under /kiali."""
    stack = _stack(stack_dir, '    kiali:\n      toService: {namespace: istio-system, name: kiali, scheme: http, port: "20001", path: /}\n')
    (error,) = _errors(stack)
    assert (error["file"], error["line"], error["path"]) == ("values/extras.yaml", 4, "exposure.navLinks.kiali.toService.path")
    assert error["message"] == (
        "kiali.istio-system serves under /kiali (component kiali), so the proxy path / is a 404 (use path: /kiali, or leave path out to have it derived)"
    )


@pytest.mark.parametrize("port", ['"20001"', "http", "20001"])
def test_a_port_the_service_has_passes(stack_dir: StackDir, port: str) -> None:
    stack = _stack(stack_dir, f"    kiali:\n      toService: {{namespace: istio-system, name: kiali, port: {port}, path: /kiali/}}\n")
    assert _errors(stack) == []


def test_a_port_the_service_does_not_have_is_rancher_s_503(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir, '    kiali:\n      toService: {namespace: istio-system, name: kiali, port: "20002", path: /kiali}\n')
    (error,) = _errors(stack)
    assert (error["line"], error["path"]) == (4, "exposure.navLinks.kiali.toService.port")
    assert error["message"] == (
        "Service kiali.istio-system (component kiali) has no port 20002; it has 20001 (http), 9090 (http-metrics). "
        "Rancher's proxy would answer 503 \"no service port '20002' found\" (use port: \"20001\")"
    )


def test_a_service_meshcharts_does_not_create_is_left_alone(stack_dir: StackDir) -> None:
    stack = _stack(stack_dir, '    other:\n      toService: {namespace: default, name: app, port: "8080", path: /}\n')
    assert _errors(stack) == []


def test_example_navlink_renders_the_kiali_web_root(tmp_path: Path, helm_client: HelmClient) -> None:
    stack = StackDir(tmp_path / "example")
    StackDir(tmp_path).cli("init", "example", "--preset", "rancher")
    assert stack.cli("render", "--cluster", "east").exit_code == 0
    folder = stack.root / "charts-out" / "east"
    values = yaml.safe_load((folder / "mesh-extras.values.yaml").read_text())
    manifests = helm_client.template("mesh-extras", folder / "mesh-extras", namespace="istio-system", values=values)
    links = {m["metadata"]["name"]: m["spec"]["toService"] for m in manifests if m["kind"] == "NavLink"}
    assert links["kiali"] == {"namespace": "istio-system", "name": "kiali", "scheme": "http", "port": "20001", "path": "/kiali"}
    assert links["jaeger"]["path"] == "/jaeger"


@pytest.mark.parametrize(
    ("kiali", "links"),
    [
        (KIALI + "server: {observability: x}\n", "    kiali: {label: Kiali}\n"),
        (KIALI + "server: {observability: {metrics: 5}}\n", "    kiali: {label: Kiali}\n"),
        (KIALI + "server: {metrics_port: abc}\n", "    kiali: {label: Kiali}\n"),
        (KIALI + "identity: 5\n", "    kiali: {label: Kiali}\n"),
        (KIALI, "    kiali: 5\n"),
        (KIALI, "    kiali: {toService: 7}\n"),
        (KIALI, "    kiali: {toService: {namespace: istio-system, name: kiali, port: [1]}}\n"),
    ],
)
def test_wrongly_typed_values_are_schema_findings_not_crashes(stack_dir: StackDir, kiali: str, links: str) -> None:
    result = _stack(stack_dir, links, kiali).cli("validate")
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output
