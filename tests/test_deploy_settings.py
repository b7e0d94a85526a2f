"""Stack-file settings for the live path: per-component helm options, the ledger URL, offline chart folders."""

from __future__ import annotations

import pytest

import meshcharts
from meshcharts.deploy.apply import ApplyOptions
from meshcharts.deploy.history import ledger_url_for
from tests.conftest import MINIMAL_STACK, StackDir

WITH_SETTINGS = MINIMAL_STACK.replace(
    "  tracing:\n    type: rancher-tracing\n",
    "  tracing:\n    type: rancher-tracing\n    helm: {atomic: true, wait: false, timeout: 90s}\n",
)


def test_component_helm_settings_apply_unless_the_run_sets_them(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", WITH_SETTINGS)
    stack = meshcharts.open_project(stack_dir.root).stack
    tracing, kiali = stack.components["tracing"], stack.components["kiali"]
    assert ApplyOptions().helm_settings(tracing) == (True, False, "90s")
    assert ApplyOptions().helm_settings(kiali) == (False, True, "5m")  # helm's usual
    run = ApplyOptions(atomic=False, wait=True, timeout="10m")
    assert run.helm_settings(tracing) == (False, True, "10m")


def test_a_bad_helm_timeout_is_reported_at_its_line(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", WITH_SETTINGS.replace("timeout: 90s", "timeout: soon"))
    result = stack_dir.cli("validate")
    assert result.exit_code == 2
    assert "meshcharts.yaml:" in result.stderr and "helm.timeout" in result.stderr


def test_the_stack_files_ledger_is_used_unless_ledger_is_given(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", MINIMAL_STACK + "ledger: state/team.sqlite\n")
    stack = meshcharts.open_project(stack_dir.root).stack
    assert ledger_url_for(stack, None) == str(stack_dir.root / "state/team.sqlite")
    assert ledger_url_for(stack, "postgresql://ci@db/ledger") == "postgresql://ci@db/ledger"
    (stack_dir.root / "state").mkdir()
    result = stack_dir.cli("history")
    assert result.exit_code == 0, result.stderr
    assert (stack_dir.root / "state/team.sqlite").is_file()


def test_a_password_in_the_stack_files_ledger_url_is_refused_without_showing_it(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", MINIMAL_STACK + "ledger: postgresql://ci:hunter2@db/ledger\n")
    result = stack_dir.cli("validate")
    assert result.exit_code == 2
    assert "stack.ledger-password" in stack_dir.cli("validate", "-o", "json").output
    assert "hunter2" not in result.stderr + result.output


@pytest.mark.parametrize("text", ["charts: ./offline\n", "charts: [1]\n"])
def test_chart_folders_must_be_a_list_of_paths(stack_dir: StackDir, text: str) -> None:
    stack_dir.write("meshcharts.yaml", MINIMAL_STACK + text)
    assert stack_dir.cli("validate").exit_code == 2


@pytest.mark.parametrize("driver", ["sql", "memory"])
def test_a_helm_driver_meshcharts_cannot_read_stops_apply_before_anything(minimal_stack: StackDir, driver: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With HELM_DRIVER=sql or memory apply could tell nothing of what is deployed: one line, exit 2."""
    monkeypatch.setenv("HELM_DRIVER", driver)
    result = minimal_stack.cli("apply", "--yes")
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [
        f"HELM_DRIVER={driver} is not supported: meshcharts reads helm's release records from Secrets or ConfigMaps "
        "(unset it for helm's default driver, secret; or set HELM_DRIVER=configmap)"
    ]
    assert not (minimal_stack.root / "charts-out").exists() and not (minimal_stack.root / "meshcharts.ledger.sqlite").exists()
