"""Layers merge the Helm way and every value remembers who set it."""

from __future__ import annotations

import pytest

import meshcharts
from tests.conftest import StackDir


def _kiali(stack: StackDir, cluster: str = "east") -> meshcharts.Composition:
    return meshcharts.open_project(stack.root).compose(cluster, "kiali")


def test_maps_merge_lists_and_scalars_replace(minimal_stack: StackDir) -> None:
    minimal_stack.write("values/kiali.yaml", "deployment:\n  accessible_namespaces: [a, b]\n  image_pull_policy: Always\nauth: {strategy: token}\n")
    minimal_stack.write("values/clusters/east/kiali.yaml", "deployment:\n  accessible_namespaces: [c]\nauth: {strategy: anonymous}\n")
    east = _kiali(minimal_stack).values()
    west = _kiali(minimal_stack, "west").values()
    assert east["deployment"] == {"accessible_namespaces": ["c"], "image_pull_policy": "Always"}
    assert east["auth"] == {"strategy": "anonymous"}
    assert west["deployment"]["accessible_namespaces"] == ["a", "b"]


def test_env_layer_sits_between_base_and_cluster(stack_dir: StackDir) -> None:
    stack_dir.write(
        "meshcharts.yaml",
        "name: demo\nclusters:\n  east: {env: prod}\n  west: {env: dev}\ncomponents:\n  kiali: {type: kiali-server, version: 1.89.3}\n",
    )
    stack_dir.write("values/kiali.yaml", "auth: {strategy: token}\nserver: {port: 20001}\n")
    stack_dir.write("values/env/prod/kiali.yaml", "auth: {strategy: openid}\nserver: {port: 20002}\n")
    stack_dir.write("values/clusters/east/kiali.yaml", "server: {port: 20003}\n")
    project = meshcharts.open_project(stack_dir.root)
    east = project.compose("east", "kiali").values()
    west = project.compose("west", "kiali").values()
    assert east["auth"]["strategy"] == "openid" and east["server"]["port"] == 20003
    assert west["auth"]["strategy"] == "token" and west["server"]["port"] == 20001


def test_null_deletes_and_is_kept_for_helm(minimal_stack: StackDir) -> None:
    minimal_stack.write("values/kiali.yaml", "deployment:\n  resources: {limits: {cpu: 1}}\n  node_selector: {disk: ssd}\n")
    minimal_stack.write("values/clusters/east/kiali.yaml", "deployment:\n  resources: null\n")
    composition = _kiali(minimal_stack)
    assert composition.values()["deployment"] == {"resources": None, "node_selector": {"disk": "ssd"}}
    assert "resources" not in composition.validation_values()["deployment"]


def test_append_extends_the_list_below(minimal_stack: StackDir) -> None:
    minimal_stack.write("values/kiali.yaml", "deployment:\n  accessible_namespaces: [istio-system]\n")
    minimal_stack.write("values/clusters/east/kiali.yaml", "deployment:\n  accessible_namespaces: !append [sample, bookinfo]\n")
    entries = meshcharts.explain_values(meshcharts.open_project(minimal_stack.root), "east", "kiali", "deployment.accessible_namespaces")
    assert entries[0].value == ["istio-system", "sample", "bookinfo"]
    assert entries[0].origin.location is not None and entries[0].origin.location.file.endswith("values/clusters/east/kiali.yaml")
    assert [o.location.file.rsplit("/", 2)[-2:] for o in entries[0].overridden if o.location] == [["values", "kiali.yaml"]]
    item = meshcharts.explain_values(meshcharts.open_project(minimal_stack.root), "east", "kiali", "deployment.accessible_namespaces[0]")
    assert item[0].origin.location is not None and item[0].origin.location.file.endswith("/values/kiali.yaml")


def test_append_without_a_list_below_starts_one(minimal_stack: StackDir) -> None:
    minimal_stack.write("values/kiali.yaml", "deployment:\n  accessible_namespaces: !append [sample]\n")
    assert _kiali(minimal_stack).values()["deployment"]["accessible_namespaces"] == ["sample"]


def test_append_onto_a_map_is_an_error(minimal_stack: StackDir) -> None:
    minimal_stack.write("values/kiali.yaml", "deployment: {resources: {limits: {}}}\n")
    minimal_stack.write("values/clusters/east/kiali.yaml", "deployment:\n  resources: !append [x]\n")
    result = minimal_stack.cli("validate")
    assert result.exit_code == 1
    assert "values/clusters/east/kiali.yaml:2:14: east/kiali: deployment.resources: !append needs a list" in result.output


def test_var_takes_the_cluster_value_and_a_missing_var_names_the_file(minimal_stack: StackDir) -> None:
    minimal_stack.write("values/kiali.yaml", "deployment:\n  pod_labels: {cluster: !var clusterId}\n")
    assert _kiali(minimal_stack).values()["deployment"]["pod_labels"] == {"cluster": "c-east"}
    assert _kiali(minimal_stack, "west").values()["deployment"]["pod_labels"] == {"cluster": "c-west"}
    minimal_stack.write("values/kiali.yaml", "deployment:\n  pod_labels: {cluster: !var clusterid}\n")
    result = minimal_stack.cli("validate")
    assert result.exit_code == 1
    assert 'values/kiali.yaml:2:25: east, west/kiali: deployment.pod_labels.cluster: each cluster has no var "clusterid" (its vars: clusterId) (did you mean "clusterId"?)' in result.output


def test_env_secret_is_a_placeholder_everywhere(minimal_stack: StackDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAFANA_PASSWORD", "hunter2-secret")
    minimal_stack.write("values/kiali.yaml", "external_services:\n  grafana:\n    auth: {type: basic, username: admin, password: !env GRAFANA_PASSWORD}\n")
    composition = _kiali(minimal_stack)
    assert [path for path, _ in composition.secrets()] == ["external_services.grafana.auth.password"]
    shown = composition.values(secrets="placeholder")["external_services"]["grafana"]["auth"]["password"]
    assert shown == "<secret from env GRAFANA_PASSWORD>"
    for args in (("explain", "east", "kiali"), ("explain", "east", "kiali", "-o", "json")):
        result = minimal_stack.cli(*args)
        assert "hunter2-secret" not in result.output
        assert "GRAFANA_PASSWORD" in result.output


def test_explain_shows_layer_file_and_what_was_overridden(minimal_stack: StackDir) -> None:
    minimal_stack.write("values/kiali.yaml", "auth:\n  strategy: token\n")
    minimal_stack.write("values/clusters/east/kiali.yaml", "auth:\n  strategy: anonymous\n")
    result = minimal_stack.cli("explain", "east", "kiali", "auth.strategy")
    assert result.exit_code == 0
    assert result.output.splitlines() == [
        'auth.strategy = "anonymous"',
        "    source:   values/clusters/east/kiali.yaml:2:13 (cluster layer)",
        "    overrode: values/kiali.yaml:2:13 (values layer)",
    ]
    import json

    document = json.loads(minimal_stack.cli("explain", "east", "kiali", "auth", "-o", "json").output)
    value = document["values"][0]
    assert value["origin"] == {"layer": "cluster", "file": "values/clusters/east/kiali.yaml", "line": 2, "column": 13, "detail": None}
    assert value["overridden"][0]["file"] == "values/kiali.yaml"


def test_explain_unknown_key_suggests(minimal_stack: StackDir) -> None:
    minimal_stack.write("values/kiali.yaml", "auth:\n  strategy: token\n")
    result = minimal_stack.cli("explain", "east", "kiali", "auth.stratgy")
    assert result.exit_code == 2
    assert 'no value at "auth.stratgy" in the composed values (did you mean "strategy"?)' in result.output


def test_explain_unknown_cluster_is_usage_error(minimal_stack: StackDir) -> None:
    result = minimal_stack.cli("explain", "eats", "kiali")
    assert result.exit_code == 2
    assert 'no cluster "eats" in stack demo (did you mean "east"?)' in result.output


def test_yaml_merge_keys_work_like_helm(minimal_stack: StackDir) -> None:
    minimal_stack.write(
        "values/kiali.yaml",
        "x-limits: &limits {cpu: 500m, memory: 1Gi}\ndeployment:\n  resources:\n    limits: *limits\n    requests:\n      <<: *limits\n      cpu: 10m\n",
    )
    values = _kiali(minimal_stack).values()
    assert values["deployment"]["resources"]["requests"] == {"cpu": "10m", "memory": "1Gi"}


def test_derived_values_never_override_a_file(minimal_stack: StackDir) -> None:
    minimal_stack.write("values/kiali.yaml", "external_services:\n  tracing:\n    in_cluster_url: http://tracing.istio-system:16686/jaeger\n")
    composition = _kiali(minimal_stack)
    tracing = composition.values()["external_services"]["tracing"]
    assert tracing["in_cluster_url"] == "http://tracing.istio-system:16686/jaeger"
    assert tracing["use_grpc"] is False  # filled in: rancher-tracing has no gRPC port
    origin = composition.origin(("external_services", "tracing", "use_grpc"))
    assert origin is not None and origin.layer == "derived" and "component tracing" in origin.detail
