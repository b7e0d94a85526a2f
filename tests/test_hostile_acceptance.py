"""What used to crash or pass silently, one test per class (the table in test_hostile_inputs.py runs the
many variations): the wiring reads only values the schema accepted, the stack file holds no tags,
``clusters: []`` means none, broken external URLs and ``needs:`` circles fail at validate, FILES that do
not exist fail, files under no stack are left alone, explain refuses what it cannot compose or parse,
and JSON is always strict JSON."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

import meshcharts
from meshcharts.core.reporter import print_json
from meshcharts.schema.checker import accepted, judge
from tests.conftest import MINIMAL_STACK, StackDir


def _json(result) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(result.stdout, parse_constant=lambda name: pytest.fail(f"not JSON: {name}"))


def _rules(stack: StackDir) -> list[str]:
    document = _json(stack.cli("validate", "-o", "json"))
    return [item["rule"] for item in document["errors"] + document["warnings"]]


# --- the wiring reads only what the schema accepted ---------------------------------------------------


def test_accepted_values_drop_rejected_values_and_unknown_keys_but_not_missing_ones() -> None:
    values = {"server": {"port": "abc", "web_root": "/kiali"}, "deployment": [1], "bogus": 1, "auth": {"strategy": "token"}}
    verdict = judge("kiali-server-1.schema.json", values, lambda path, is_key: None)
    assert set(verdict.rejected) == {("server", "port"), ("deployment",), ("bogus",)}
    assert accepted(values, verdict.rejected) == {"server": {"web_root": "/kiali"}, "auth": {"strategy": "token"}}
    assert accepted(values, ()) is values  # nothing rejected: no copy


def test_a_pattern_or_a_missing_key_leaves_the_value_readable() -> None:
    """Only a value of the wrong kind is dropped: a string that fails a pattern is still a string
    (the address checks judge its text), and a missing required key may still be wired in."""
    values = {"meshConfig": {"defaultConfig": {"tracing": {"zipkin": {"address": "http://zipkin:9411"}}}}}
    verdict = judge("istiod-1.schema.json", values, lambda path, is_key: None)
    assert verdict.diagnostics and verdict.rejected == ()


@pytest.mark.parametrize(
    ("file", "text", "where"),
    [
        ("values/tracing.yaml", "service:\n  externalPort: abc\n", "values/tracing.yaml:2:17: east, west/tracing: service.externalPort"),
        ("values/tracing.yaml", "service:\n  externalPort: 1.5e3\n", "values/tracing.yaml:2:17: east, west/tracing: service.externalPort"),
        ("values/tracing.yaml", "zipkin:\n  queryPort: !env ZIPKIN_PORT\n", "values/tracing.yaml:2:14: east, west/tracing: zipkin.queryPort"),
        ("values/kiali.yaml", "server:\n  web_root: 5\n", "values/kiali.yaml:2:13: east, west/kiali: server.web_root"),
        ("values/kiali.yaml", "deployment: [1]\n", "values/kiali.yaml:1:13: east, west/kiali: deployment"),
        ("values/kiali.yaml", "external_services: abc\n", "values/kiali.yaml:1:20: east, west/kiali: external_services"),
    ],
)
def test_a_wrongly_typed_value_the_wiring_reads_is_a_schema_error(minimal_stack: StackDir, file: str, text: str, where: str) -> None:
    """Bug: these reached int()/rstrip()/.get() in the wiring and ended in "internal error"."""
    minimal_stack.write(file, text)
    for args in (("validate",), ("render",)):
        result = minimal_stack.cli(*args)
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith(where), result.stderr
    assert minimal_stack.cli("explain", "east", "kiali").exit_code == 0


def test_a_rejected_flag_is_not_also_a_wiring_finding(minimal_stack: StackDir) -> None:
    """Bug: use_grpc: maybe was read as true and reported a second time as a gRPC mismatch."""
    minimal_stack.write("values/kiali.yaml", "external_services:\n  tracing:\n    use_grpc: maybe\n")
    assert set(_rules(minimal_stack)) == {"schema.type"}


def test_a_rejected_address_is_reported_once_by_the_schema(minimal_stack: StackDir) -> None:
    minimal_stack.write("values/kiali.yaml", "external_services:\n  prometheus:\n    url: 5\n")
    assert set(_rules(minimal_stack)) == {"schema.type"}


def test_a_secret_address_is_unchecked_not_wrong(minimal_stack: StackDir) -> None:
    """Bug: an !env URL was reported as "EnvRef('X') is not an address"."""
    minimal_stack.write("values/kiali.yaml", "external_services:\n  prometheus:\n    url: !env PROMETHEUS_URL\n")
    result = minimal_stack.cli("validate")
    assert result.exit_code == 0
    assert "values/kiali.yaml:3:10: east, west/kiali: external_services.prometheus.url: warning: Kiali's Prometheus is a secret read at apply time (!env PROMETHEUS_URL)" in result.stderr
    assert set(_rules(minimal_stack)) == {"wiring.unchecked-secret"}


def test_keys_of_a_map_are_judged_as_keys(stack_dir: StackDir) -> None:
    """Bug: grafanaCom.revisions {a: 1} reached int("a"); a key like "7639" showed as revisions[7639]."""
    stack_dir.write("meshcharts.yaml", "name: lab\nclusters: {east: {}}\ncomponents:\n  monitoring: {type: kube-prometheus-stack, version: 45.1.1}\n  extras: {type: mesh-extras}\n")
    stack_dir.write("values/extras.yaml", "dashboards:\n  grafanaCom:\n    revisions: {a: 1, '7639': x}\n")
    result = stack_dir.cli("validate")
    assert result.exit_code == 1
    assert "values/extras.yaml:3:17: east/extras: dashboards.grafanaCom.revisions.a:" in result.stderr
    assert "dashboards.grafanaCom.revisions.7639:" in result.stderr


def test_long_values_are_cut_in_messages(minimal_stack: StackDir) -> None:
    minimal_stack.write("values/kiali.yaml", "deployment:\n  pod_annotations:\n    note: " + "{b: " * 90 + "1" + "}" * 90 + "\n")
    line = minimal_stack.cli("validate").stderr.splitlines()[0]
    assert len(line) < 250 and "characters) is not of type" in line, line


# --- the YAML loader -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("auth: !!python/object:os.system {}\n", "yaml.unknown-tag"),
        ("auth: !!python/tuple [1]\n", "yaml.unknown-tag"),
        ("%TAG !e! tag:example.com,2000:\n---\nauth: !e!x {a: 1}\n", "yaml.unknown-tag"),
        ("auth: &x [*x]\n", "yaml.recursive-alias"),
        ("deployment:\n  pod_annotations:\n    a: " + "[" * 120 + "]" * 120 + "\n", "yaml.too-deep"),
        ("deployment:\n  replicas: .nan\n", "yaml.value"),
        ("deployment:\n  replicas: !!int many\n", "yaml.value"),
        ("auth:\n  strategy: a\x07b\n", "yaml.syntax"),
    ],
)
def test_yaml_meshcharts_refuses(minimal_stack: StackDir, text: str, rule: str) -> None:
    """Bug: tags on mappings were ignored, a recursive alias hung, deep nesting and NaN crashed later."""
    minimal_stack.write("values/kiali.yaml", text)
    assert _rules(minimal_stack) == [rule]


def test_deep_values_from_vars_stay_within_every_walk(stack_dir: StackDir) -> None:
    """A var nested 95 levels placed 98 levels down: about 200 levels reach merge, schema, explain and render."""
    deep = "[" * 95 + "1" + "]" * 95
    stack_dir.write("meshcharts.yaml", MINIMAL_STACK.replace("vars: {clusterId: c-east}", f"vars: {{clusterId: c-east, deep: {deep}}}").replace("vars: {clusterId: c-west}", f"vars: {{clusterId: c-west, deep: {deep}}}"))
    stack_dir.write("values/kiali.yaml", "deployment:\n  pod_annotations:\n    a: " + "{b: " * 96 + "!var deep" + "}" * 96 + "\n")
    for args, code in ((("validate",), 1), (("explain", "east", "kiali", "-o", "json"), 0), (("render",), 1)):
        result = stack_dir.cli(*args)
        assert result.exit_code == code, result.output


# --- the stack file ------------------------------------------------------------------------------------


def test_tags_in_the_stack_file_are_each_one_error(stack_dir: StackDir) -> None:
    """Decision: !var, !env and !append belong in values files. Bug: they crashed the stack schema check,
    and a var made of itself recursed without end."""
    text = MINIMAL_STACK.replace("vars: {clusterId: c-east}", "vars: {clusterId: !var clusterId, token: !env TOKEN}").replace("    version: 100.0.0\n", "    version: 100.0.0\n    needs: !append [kiali]\n")
    stack_dir.write("meshcharts.yaml", text)
    result = stack_dir.cli("validate")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "meshcharts.yaml:4:23: !var belongs in values files; meshcharts.yaml takes plain values (write the value itself)",
        "meshcharts.yaml:4:46: !env belongs in values files; meshcharts.yaml takes plain values (write the value itself)",
        "meshcharts.yaml:14:12: !append belongs in values files; meshcharts.yaml takes plain values (write the value itself)",
    ]


def test_clusters_empty_means_no_cluster(stack_dir: StackDir) -> None:
    """Decision: an empty list is empty. Bug: clusters: [] installed the component everywhere."""
    stack_dir.write("meshcharts.yaml", MINIMAL_STACK.replace("    type: kiali-server\n", "    type: kiali-server\n    clusters: []\n"))
    project = meshcharts.open_project(stack_dir.root)
    assert project.stack.components["kiali"].clusters == ()
    assert project.pairs() == [("east", "tracing"), ("west", "tracing")]
    result = stack_dir.cli("explain", "east", "kiali")
    assert result.exit_code == 2 and 'component "kiali" is not installed on cluster "east"' in result.stderr


def test_an_external_on_no_cluster_provides_nothing(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", MINIMAL_STACK + "    clusters: []\n")
    assert set(_rules(stack_dir)) == {"wiring.no-provider"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("'http://'", "'http://' has no host"),
        ("'http://[::1'", "'http://[::1' is not a URL (Invalid IPv6 URL)"),
        ("http://prometheus.monitoring:99999", "'http://prometheus.monitoring:99999' has a port outside 1-65535"),
        ("http://prometheus.monitoring:0", "'http://prometheus.monitoring:0' has a port outside 1-65535"),
        ("http://prometheus.monitoring:web", "'http://prometheus.monitoring:web' has a port that is not a number"),
    ],
)
def test_external_urls_that_are_not_urls(stack_dir: StackDir, url: str, message: str) -> None:
    """Bug: the external was dropped silently and Kiali's wiring with it ("nothing provides prometheus")."""
    stack_dir.write("meshcharts.yaml", MINIMAL_STACK.replace("url: http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:9090", f"url: {url}"))
    result = stack_dir.cli("validate")
    assert result.exit_code == 2
    assert result.stderr == f"meshcharts.yaml:16:10: external.prometheus.url: {message} (write http://service.namespace.svc:port)\n"


def test_a_public_url_without_host(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", MINIMAL_STACK + "    publicUrl: 'https://'\n")
    result = stack_dir.cli("validate")
    assert result.exit_code == 2 and result.stderr.startswith("meshcharts.yaml:17:16: external.prometheus.publicUrl: 'https://' has no host")


def test_needs_circles_fail_at_validate_where_needs_is_written(stack_dir: StackDir) -> None:
    """Bug: validate passed and only render failed, without a position."""
    text = MINIMAL_STACK.replace("    type: kiali-server\n", "    type: kiali-server\n    needs: [tracing]\n")
    stack_dir.write("meshcharts.yaml", text.replace("    type: rancher-tracing\n", "    type: rancher-tracing\n    needs: [kiali]\n"))
    result = stack_dir.cli("validate")
    assert result.exit_code == 2
    assert result.stderr == "meshcharts.yaml:10:13: kiali: needs[0]: components need each other in a circle (kiali -> tracing -> kiali), so no install order exists (drop one of the needs: entries in the circle)\n"


def test_many_needs_are_checked_in_linear_time(stack_dir: StackDir) -> None:
    """Thirty components that each need all the others: the walk must not try every path."""
    names = [f"c{index}" for index in range(30)]
    components = "".join(f"  {name}: {{type: rancher-tracing, version: 100.0.0, needs: [{', '.join(other for other in names if other != name)}]}}\n" for name in names)
    stack_dir.write("meshcharts.yaml", f"name: demo\nclusters: {{east: {{}}}}\ncomponents:\n{components}")
    result = stack_dir.cli("validate")
    assert result.exit_code == 2 and "stack.needs-cycle" not in result.stderr and "in a circle" in result.stderr


def test_a_circle_through_the_crd_order_fails_at_validate(stack_dir: StackDir) -> None:
    """kube-prometheus-stack installs the CRDs mesh-extras' monitors need, so it cannot also need mesh-extras."""
    stack_dir.write(
        "meshcharts.yaml",
        "name: lab\nclusters: {east: {}}\ncomponents:\n  monitoring:\n    type: kube-prometheus-stack\n    version: 45.1.1\n    needs: [extras]\n  extras: {type: mesh-extras}\n",
    )
    result = stack_dir.cli("validate")
    assert result.exit_code == 1
    assert result.stderr.startswith("meshcharts.yaml:4:3: east/monitoring: needs: components depend on each other in a circle: monitoring -> extras -> monitoring")


# --- FILES, pre-commit and explain ---------------------------------------------------------------------


@pytest.mark.parametrize(("argument", "message"), [("nope.yaml", "nope.yaml: no such file"), ("values", "values: is a folder")])
def test_validate_files_that_are_not_files_fail(minimal_stack: StackDir, argument: str, message: str) -> None:
    """Bug: "ok: 0 compositions checked", exit 0: a typo'd path in a hook or CI call passed."""
    minimal_stack.write("values/kiali.yaml", "{}\n")
    for args in (("validate", argument), ("validate", "--stack", ".", argument)):
        result = minimal_stack.cli(*args)
        assert result.exit_code == 2 and result.stderr.startswith(message), result.output
    document = _json(minimal_stack.cli("validate", "-o", "json", argument))
    assert document["errors"][0]["file"] == argument and document["errors"][0]["rule"] in ("usage.no-such-file", "usage.not-a-file")


def test_hook_ignores_files_under_no_stack(tmp_path: Path) -> None:
    """Bug: another tool's charts/foo/values/prod.yaml made the hook exit 2; now only stack files are judged."""
    (tmp_path / "charts" / "foo" / "values").mkdir(parents=True)
    (tmp_path / "charts" / "foo" / "values" / "prod.yaml").write_text("replicas: 2\n")
    process = subprocess.run([sys.executable, "-m", "meshcharts", "validate", "charts/foo/values/prod.yaml"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert process.returncode == 0, process.stderr
    assert process.stdout == "ok: nothing checked: none of the files is a stack file or values file of a meshcharts stack\n"
    as_json = subprocess.run([sys.executable, "-m", "meshcharts", "validate", "-o", "json", "charts/foo/values/prod.yaml"], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert json.loads(as_json.stdout)["outside"] == ["charts/foo/values/prod.yaml"]


def test_explain_refuses_a_layer_it_cannot_read(minimal_stack: StackDir) -> None:
    """Bug: explain composed without the broken file and exited 0."""
    minimal_stack.write("values/kiali.yaml", "auth: [\n")
    result = minimal_stack.cli("explain", "east", "kiali")
    assert result.exit_code == 2
    assert result.stderr == minimal_stack.cli("validate").stderr  # the very line validate prints
    assert minimal_stack.cli("explain", "east", "tracing").exit_code == 0  # other compositions still explain


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("deployment..accessible_namespaces", "a key is missing at character 12"),
        ("[0]", "the key path starts with a key, not [index]"),
        ("deployment.[0]", "a list index follows its key directly"),
        ("a.[x]", "the [ at character 3 takes a list index"),
        ("deployment[x]", "the [ at character 11 takes a list index"),
        ("deployment]", "a ] without its [ at character 11"),
        ("deployment.", "the key path ends with a dot"),
        (".deployment", "the key path starts with a dot"),
        ("", "the key path is empty"),
        ("a" * 2000, "the key path is 2000 characters long"),
    ],
)
def test_explain_refuses_odd_key_paths(minimal_stack: StackDir, path: str, reason: str) -> None:
    """Bug: a..b was read as a.b, a.[x] as a.x: explain showed a value the user had not named."""
    minimal_stack.write("values/kiali.yaml", "deployment:\n  accessible_namespaces: [a, b]\n")
    result = minimal_stack.cli("explain", "east", "kiali", path)
    assert result.exit_code == 2 and reason in result.stderr, result.stderr
    assert _json(minimal_stack.cli("explain", "east", "kiali", path, "-o", "json"))["errors"][0]["rule"] == "explain.bad-path"


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("deployment.accessible_namespaces[1]", 'deployment.accessible_namespaces[1] = "b"'),
        ('deployment.pod_annotations["prometheus.io/scrape"]', 'deployment.pod_annotations.prometheus.io/scrape = "true"'),
        ("deployment.pod_labels.ключ", 'deployment.pod_labels.ключ = "ü"'),
    ],
)
def test_explain_key_paths_that_name_something(minimal_stack: StackDir, path: str, shown: str) -> None:
    minimal_stack.write(
        "values/kiali.yaml",
        "deployment:\n  accessible_namespaces: [a, b]\n  pod_annotations: {prometheus.io/scrape: 'true'}\n  pod_labels: {ключ: ü}\n",
    )
    result = minimal_stack.cli("explain", "east", "kiali", path)
    assert result.exit_code == 0 and result.stdout.startswith(shown), result.output


def test_json_output_is_strict_json() -> None:
    """Bug: explain -o json printed NaN and Infinity, which no JSON parser accepts."""
    stream = io.StringIO()
    print_json({"values": [float("nan"), float("inf"), -float("inf"), 1.5]}, stream)
    assert json.loads(stream.getvalue(), parse_constant=lambda name: pytest.fail(name)) == {"values": ["NaN", "Infinity", "-Infinity", 1.5]}


def test_nan_in_values_is_refused_before_explain_can_show_it(minimal_stack: StackDir) -> None:
    """Helm itself refuses NaN (values pass through JSON), so the file is wrong where it says .nan."""
    minimal_stack.write("values/kiali.yaml", "deployment:\n  pod_annotations: {a: .nan}\n")
    result = minimal_stack.cli("explain", "east", "kiali", "-o", "json")
    assert result.exit_code == 2
    error = _json(result)["errors"][0]
    assert (error["file"], error["line"], error["column"], error["rule"]) == ("values/kiali.yaml", 2, 24, "yaml.value")
