"""``clusters.<name>.kubernetes``: the cluster's Kubernetes version, "MAJOR.MINOR", for the offline checks."""

from __future__ import annotations

import pytest

import meshcharts
from meshcharts.core.kubeapis import kubernetes_minor
from tests.conftest import StackDir


def _stack(stack_dir: StackDir, cluster: str) -> StackDir:
    stack_dir.write("meshcharts.yaml", f"name: demo\nclusters:\n  east: {cluster}\ncomponents:\n  extras: {{type: mesh-extras}}\n")
    return stack_dir


def test_without_a_version_nothing_is_assumed_offline(stack_dir: StackDir) -> None:
    """The cluster decides (plan's discovery); validate does not guess a version to judge against."""
    stack_dir = _stack(stack_dir, "{}")
    assert meshcharts.open_project(stack_dir.root).stack.clusters["east"].kubernetes is None
    stack_dir.write("meshcharts.yaml", "name: demo\nclusters: {east: {}}\ncomponents:\n  tracing: {type: rancher-tracing, version: 100.0.0}\n")
    stack_dir.write("values/tracing.yaml", "global:\n  rbac:\n    pspEnabled: true\n")
    assert stack_dir.cli("validate").exit_code == 0
    stack_dir.write("meshcharts.yaml", 'name: demo\nclusters: {east: {kubernetes: "1.30"}}\ncomponents:\n  tracing: {type: rancher-tracing, version: 100.0.0}\n')
    assert stack_dir.cli("validate").exit_code == 1
    assert kubernetes_minor("1.30") == (1, 30)


def test_declared_version_is_loaded(stack_dir: StackDir) -> None:
    stack = meshcharts.open_project(_stack(stack_dir, '{kubernetes: "1.24"}').root).stack
    assert stack.clusters["east"].kubernetes == "1.24"


def test_an_unquoted_version_says_to_quote_it(stack_dir: StackDir) -> None:
    result = _stack(stack_dir, "{kubernetes: 1.30}").cli("validate")
    assert result.exit_code == 2
    assert result.output.strip() == (
        'meshcharts.yaml:3:22: east: kubernetes: 1.3 is not of type "string" '
        '(quote it, e.g. kubernetes: "1.30": unquoted, YAML reads a version as the number 1.3)'
    )


@pytest.mark.parametrize("version", ["1.30.2", "v1.30", "1", "1.030", "latest", ""])
def test_only_major_minor_is_accepted(stack_dir: StackDir, version: str) -> None:
    result = _stack(stack_dir, f'{{kubernetes: "{version}"}}').cli("validate")
    assert result.exit_code == 2
    assert result.output.startswith("meshcharts.yaml:3:22: east: kubernetes: ") and "Traceback" not in result.output
