"""What ``meshcharts verify`` will check, read offline from the composed stack: the addresses each
component was given (with the file:line that set them), the CRD kinds, the monitors, the dashboards.

And how a Service's endpoints count as ready (EndpointSlices as the API defines them), without a cluster.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from typing import Any

import pytest

import meshcharts
from meshcharts.deploy.verify_live import _ready_endpoints
from meshcharts.deploy.verify_targets import cluster_targets
from tests.conftest import REPO_ROOT


def _example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled example, as the current folder (file names in locations are relative to it)."""
    root = tmp_path / "stack"
    root.mkdir()
    monkeypatch.chdir(root)
    shutil.copyfile(REPO_ROOT / "meshcharts.yaml", root / "meshcharts.yaml")
    shutil.copytree(REPO_ROOT / "values", root / "values")
    return root


def test_derived_urls_are_blamed_on_the_stack_entry_they_come_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    targets = cluster_targets(meshcharts.open_project(_example(tmp_path, monkeypatch)), "east")
    by_key = {target.path: target for target in targets.addresses}
    assert set(by_key) == {"external_services.prometheus.url", "external_services.grafana.in_cluster_url", "external_services.tracing.in_cluster_url"}
    prometheus = by_key["external_services.prometheus.url"]
    assert (prometheus.namespace, prometheus.parsed.service, prometheus.parsed.port) == ("cattle-monitoring-system", "rancher-monitoring-prometheus", 9090)
    assert prometheus.external is not None and prometheus.external.name == "prometheus"
    assert str(prometheus.location) == "meshcharts.yaml:33:3"  # external: prometheus
    tracing = by_key["external_services.tracing.in_cluster_url"]
    assert tracing.external is None and str(tracing.location) == "meshcharts.yaml:25:3"  # component tracing
    assert {(crd.group, crd.kind) for crd in targets.crds} == {("monitoring.coreos.com", "ServiceMonitor"), ("ui.cattle.io", "NavLink")}
    (monitors,) = targets.monitors
    assert (monitors.release, monitors.namespace, monitors.kinds, monitors.labels_path) == ("mesh-extras", "istio-system", ("ServiceMonitor",), "monitors.labels")
    assert targets.prometheus_services == [("cattle-monitoring-system", "rancher-monitoring-prometheus", 9090, "external prometheus")]


def test_a_typed_url_is_blamed_on_its_line_without_showing_its_password(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _example(tmp_path, monkeypatch)
    layer = root / "values/clusters/west/kiali.yaml"
    layer.parent.mkdir(parents=True, exist_ok=True)
    layer.write_text("external_services:\n  grafana:\n    in_cluster_url: http://admin:hunter2@grafana.monitoring:3000\n", encoding="utf-8")
    targets = cluster_targets(meshcharts.open_project(root), "west")
    (grafana,) = [target for target in targets.addresses if target.role == "grafana"]
    assert str(grafana.location) == "values/clusters/west/kiali.yaml:3:21"
    assert grafana.shown == "http://grafana.monitoring:3000" and "hunter2" not in repr(grafana.shown)
    assert (grafana.namespace, grafana.parsed.service) == ("monitoring", "grafana")


def test_a_switched_off_address_is_not_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _example(tmp_path, monkeypatch)
    (root / "values/clusters/west").mkdir(parents=True, exist_ok=True)
    (root / "values/clusters/west/kiali.yaml").write_text("external_services:\n  grafana:\n    enabled: false\n", encoding="utf-8")
    roles = {target.role for target in cluster_targets(meshcharts.open_project(root), "west").addresses}
    assert roles == {"prometheus", "tracing"}


def _slice(port_name: str, *ready: bool | None) -> dict[str, Any]:
    """An EndpointSlice as the API server's JSON: an unnamed port has no ``name`` key, unset conditions no ``conditions``."""
    port: dict[str, Any] = {"port": 8081, "protocol": "TCP", **({"name": port_name} if port_name else {})}
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "addressType": "IPv4",
        "ports": [port],
        "endpoints": [{"addresses": [f"10.0.0.{index}"], **({} if flag is None else {"conditions": {"ready": flag}})} for index, flag in enumerate(ready)],
    }


def test_endpoints_count_per_service_port_and_unset_ready_means_ready() -> None:
    web = {"name": "http-web", "port": 9090, "targetPort": "http-web", "protocol": "TCP"}
    slices = [_slice("http-web", True, None, False), _slice("reloader-web", True)]
    assert _ready_endpoints(slices, web) == (2, 1)
    assert _ready_endpoints([_slice("http-web", False)], web) == (0, 1)
    unnamed = {"port": 80, "targetPort": 8080}  # protocol unset: TCP
    assert _ready_endpoints([_slice("", True)], unnamed) == (1, 0)
    assert _ready_endpoints([{**_slice("http-web"), "endpoints": None}], web) == (0, 0)  # a slice of a Service with no Pods
    assert _ready_endpoints([{**_slice("http-web"), "endpoints": [{"addresses": ["10.0.0.9"], "conditions": {}}]}], web) == (1, 0)
