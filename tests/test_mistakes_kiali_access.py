"""Kiali 2.x ``deployment.cluster_wide_access: false`` with no ``deployment.discovery_selectors.default``.

kiali-server 2.19 and later then create a Role in Kiali's own namespace only (the namespaces the default
selectors match are looked up at install); 2.0 to 2.18 create no Role at all, and the Kiali server reads only
the namespaces those selectors name. Either way Kiali shows (almost) nothing: a warning at the
cluster_wide_access line that names the key to set. Kiali 1.x charts always create a ClusterRole.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import StackDir

STACK = """\
name: demo
clusters:
  east: {{}}
components:
  istiod: {{type: istiod, version: 1.23.2, namespace: istio-control}}
  kiali: {{type: {type}, version: {version}, namespace: istio-system}}
external:
  prometheus: {{url: "http://prometheus.monitoring.svc:9090"}}
"""
RULE = "kiali.no-discovery-selectors"


def _validate(stack: StackDir, kiali: str, *, version: str = "2.29.0", type_: str = "kiali-server") -> tuple[int, dict[str, list[dict[str, object]]]]:
    stack.write("meshcharts.yaml", STACK.format(type=type_, version=version))
    stack.write("values/kiali.yaml", kiali)
    result = stack.cli("validate", "-o", "json")
    return result.exit_code, json.loads(result.output)


def _access_findings(document: dict[str, list[dict[str, object]]]) -> list[dict[str, object]]:
    return [f for f in document["errors"] + document["warnings"] if f["rule"] == RULE]


def test_cluster_wide_access_false_alone_warns_at_its_line_naming_the_key(stack_dir: StackDir) -> None:
    code, document = _validate(stack_dir, "deployment:\n  cluster_wide_access: false\n")
    assert code == 0 and document["errors"] == []
    assert [(f["file"], f["line"], f["column"], f["cluster"], f["component"], f["path"], f["rule"]) for f in document["warnings"]] == [
        ("values/kiali.yaml", 2, 3, "east", "kiali", "deployment.cluster_wide_access", RULE)
    ]
    message = str(document["warnings"][0]["message"])
    assert "the chart gives Kiali a Role in its own namespace istio-system only, so Kiali sees no other namespace of the mesh" in message
    # the example lists Kiali's namespace and istiod's, in the form the Kiali server requires without cluster-wide access
    assert (
        "set deployment.discovery_selectors.default: [{matchExpressions: [{key: kubernetes.io/metadata.name, operator: In, "
        "values: [istio-control, istio-system, <the mesh's application namespaces>]}]}]"
    ) in message


def test_the_text_output_reads_as_one_line(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", STACK.format(type="kiali-server", version="2.29.0"))
    stack_dir.write("values/kiali.yaml", "auth:\n  strategy: token\ndeployment:\n  cluster_wide_access: false\n")
    result = stack_dir.cli("validate")
    assert result.exit_code == 0
    line = next(text for text in result.output.splitlines() if "cluster_wide_access:" in text)
    assert line.startswith("values/kiali.yaml:4:3: east/kiali: deployment.cluster_wide_access: warning: cluster_wide_access is false and deployment.discovery_selectors.default is not set")
    assert line.endswith("or keep cluster_wide_access: true)")


def test_charts_before_2_19_create_no_role_and_say_so(stack_dir: StackDir) -> None:
    _code, document = _validate(stack_dir, "deployment:\n  cluster_wide_access: false\n", version="2.10.0")
    [finding] = _access_findings(document)
    message = str(finding["message"])
    assert "Kiali then reads only the namespaces those selectors name, so it sees none; kiali-server 2.10.0 creates no Role for it either" in message
    assert "create Roles and RoleBindings for Kiali's ServiceAccount there" in message


@pytest.mark.parametrize(
    "kiali",
    [
        "deployment:\n  cluster_wide_access: false\n  discovery_selectors: {}\n",
        "deployment:\n  cluster_wide_access: false\n  discovery_selectors:\n    default: []\n",
        # the chart and the server read only the default list for the namespaces Kiali may access
        "deployment:\n  cluster_wide_access: false\n  discovery_selectors:\n    east:\n    - matchLabels: {istio-injection: enabled}\n",
    ],
)
def test_selectors_that_select_nothing_count_as_none(stack_dir: StackDir, kiali: str) -> None:
    _code, document = _validate(stack_dir, kiali)
    assert [(f["line"], f["path"]) for f in _access_findings(document)] == [(2, "deployment.cluster_wide_access")]


@pytest.mark.parametrize(
    ("version", "type_", "kiali"),
    [
        ("2.29.0", "kiali-server", "deployment:\n  cluster_wide_access: true\n"),
        ("2.29.0", "kiali-server", "auth:\n  strategy: token\n"),
        (
            "2.29.0",
            "kiali-server",
            "deployment:\n  cluster_wide_access: false\n  discovery_selectors:\n    default:\n"
            "    - matchExpressions:\n      - {key: kubernetes.io/metadata.name, operator: In, values: [istio-system, bookinfo]}\n",
        ),
        # Kiali 1.x: the charts create a ClusterRole and accessible_namespaces ["**"] keeps every namespace
        ("1.89.3", "kiali-server", "deployment:\n  cluster_wide_access: false\n"),
        ("100.0.0+up1.35.0", "rancher-kiali-server", "deployment:\n  cluster_wide_access: false\n"),
    ],
)
def test_setups_with_namespace_access_pass(stack_dir: StackDir, version: str, type_: str, kiali: str) -> None:
    _code, document = _validate(stack_dir, kiali, version=version, type_=type_)
    assert _access_findings(document) == []
