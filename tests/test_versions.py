"""Chart versions pick schemas and version rules; an unknown version is a warning, never a silent pass."""

from __future__ import annotations

import json

import pytest

from meshcharts.components import catalog
from meshcharts.core.versions import (
    InvalidVersion,
    VersionRange,
    parse_chart_version,
    upstream_version,
)
from tests.conftest import StackDir


def _stack(stack_dir: StackDir, version: str, values: str) -> dict[str, list[dict[str, object]]]:
    stack_dir.write(
        "meshcharts.yaml",
        f"name: demo\nclusters: {{east: {{}}}}\ncomponents:\n  kiali: {{type: kiali-server, version: {version}}}\n"
        "external:\n  prometheus: {url: 'http://prometheus.monitoring:9090'}\n",
    )
    stack_dir.write("values/kiali.yaml", values)
    return json.loads(stack_dir.cli("validate", "-o", "json").output)


def test_rancher_versions_carry_the_upstream_version() -> None:
    assert str(upstream_version(parse_chart_version("100.0.0+up1.35.0"))) == "1.35.0"
    assert catalog()["rancher-kiali-server"].app_version("100.0.0+up1.35.0").minor == 35
    assert "100.0.0+up1.35.0" in VersionRange("100.0.0", "101.0.0")
    with pytest.raises(InvalidVersion):
        parse_chart_version("latest")


def test_unknown_chart_version_warns_and_names_the_schema_used(stack_dir: StackDir) -> None:
    document = _stack(stack_dir, "3.1.0", "auth: {strategy: token}\n")
    assert document["errors"] == []
    (warning,) = document["warnings"]
    assert warning["rule"] == "schema.version-guessed"
    assert "kiali-server chart version 3.1.0 is not one meshcharts knows; validating against the kiali-server 2.x schema (kiali-server-2.schema.json) instead" in str(warning["message"])
    assert (warning["file"], warning["line"]) == ("meshcharts.yaml", 4)


def test_kiali_2_dropped_accessible_namespaces(stack_dir: StackDir) -> None:
    document = _stack(stack_dir, "2.29.0", "deployment:\n  accessible_namespaces: ['**']\n")
    (error,) = document["errors"]
    assert (error["line"], error["rule"], error["path"]) == (2, "kiali.removed-key", "deployment.accessible_namespaces")
    assert "use deployment.cluster_wide_access" in str(error["message"])


def test_kiali_2_renamed_in_cluster_url_is_a_warning(stack_dir: StackDir) -> None:
    document = _stack(stack_dir, "2.29.0", "external_services:\n  grafana:\n    in_cluster_url: http://grafana.monitoring:80\n")
    rules = sorted(w["rule"] for w in document["warnings"])
    assert rules == ["kiali.deprecated-key", "wiring.undeclared-external"]  # the old key is still wired and checked
    assert any("use external_services.grafana.internal_url" in str(w["message"]) for w in document["warnings"])


def test_kiali_1_does_not_know_internal_url(stack_dir: StackDir) -> None:
    document = _stack(stack_dir, "1.89.3", "external_services:\n  grafana:\n    internal_url: http://grafana.monitoring:80\n")
    (error,) = document["errors"]
    assert error["rule"] == "kiali.unknown-in-version"
    assert "internal_url is a Kiali 2.x key; Kiali 1.x ignores it silently (use external_services.grafana.in_cluster_url)" in str(error["message"])


def test_kiali_ingress_enabled_is_dead_after_1_43(stack_dir: StackDir) -> None:
    assert _stack(stack_dir, "1.35.0", "deployment:\n  ingress_enabled: false\n")["errors"] == []
    (error,) = _stack(stack_dir, "1.89.3", "deployment:\n  ingress_enabled: true\n")["errors"]
    assert error["rule"] == "kiali.removed-key" and "use deployment.ingress.enabled" in str(error["message"])


def test_image_tag_decides_which_kiali_really_runs(stack_dir: StackDir) -> None:
    """Seed 000 runs Kiali v1.44 on the 1.35 Rancher chart: gRPC becomes the default for tracing."""
    import meshcharts

    kiali = catalog()["rancher-kiali-server"]
    stack_dir.write(
        "meshcharts.yaml",
        "name: demo\nclusters: {east: {}}\ncomponents:\n  kiali: {type: rancher-kiali-server, version: 100.0.0+up1.35.0}\n"
        "external:\n  prometheus: {url: 'http://prometheus.monitoring:9090'}\n  tracing: {url: 'http://tracing.istio-system:16686/jaeger'}\n",
    )
    stack_dir.write("values/kiali.yaml", "deployment: {tag: v1.44, ingress_enabled: false}\nexternal_services:\n  tracing:\n    in_cluster_url: http://tracing.istio-system:16686/jaeger\n    use_grpc: true\n")
    composition = meshcharts.open_project(stack_dir.root).compose("east", "kiali")
    assert kiali.running_version(composition.component, composition.values()).minor == 44
    document = json.loads(stack_dir.cli("validate", "-o", "json").output)
    assert [e["rule"] for e in document["errors"]] == ["wiring.grpc-mismatch"]


def test_rancher_chart_pinned_without_upstream_suffix_is_still_kiali_1_35(stack_dir: StackDir) -> None:
    """Bug: `version: 100.0.0` was taken for Kiali 100 and every Kiali 2.x rule fired."""
    stack_dir.write(
        "meshcharts.yaml",
        "name: demo\nclusters: {east: {}}\ncomponents:\n  kiali: {type: rancher-kiali-server, version: 100.0.0}\n"
        "external:\n  prometheus: {url: 'http://prometheus.monitoring:9090'}\n",
    )
    stack_dir.write("values/kiali.yaml", "deployment:\n  accessible_namespaces: [istio-system]\n  ingress_enabled: false\n")
    document = json.loads(stack_dir.cli("validate", "-o", "json").output)
    assert document["errors"] == [] and document["warnings"] == []


def test_kiali_2_legacy_url_is_checked_not_doubled(stack_dir: StackDir) -> None:
    """Bug: a 2.x values file with in_cluster_url got a second, derived internal_url and no check."""
    import meshcharts

    stack_dir.write(
        "meshcharts.yaml",
        "name: demo\nclusters: {east: {}}\ncomponents:\n  kiali: {type: kiali-server, version: 2.29.0}\n"
        "  monitoring: {type: kube-prometheus-stack, version: 88.5.3, release: prom, namespace: monitoring}\n",
    )
    stack_dir.write("values/kiali.yaml", "external_services:\n  grafana:\n    in_cluster_url: http://prom-grafana.monitoring:3000\n")
    document = json.loads(stack_dir.cli("validate", "-o", "json").output)
    assert [e["rule"] for e in document["errors"]] == ["wiring.wrong-port"]
    grafana = meshcharts.open_project(stack_dir.root).compose("east", "kiali").values()["external_services"]["grafana"]
    assert "internal_url" not in grafana
