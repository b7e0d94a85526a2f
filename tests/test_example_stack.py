"""The bundled example (repo root: meshcharts.yaml + values/) validates clean, and a typo anywhere in it
is reported at the right file:line with a suggestion."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import meshcharts
from tests.conftest import REPO_ROOT, StackDir


@pytest.fixture()
def example(tmp_path: Path) -> StackDir:
    """A copy of the bundled example to edit."""
    shutil.copy(REPO_ROOT / "meshcharts.yaml", tmp_path / "meshcharts.yaml")
    shutil.copytree(REPO_ROOT / "values", tmp_path / "values")
    return StackDir(tmp_path)


def test_bundled_example_is_valid() -> None:
    report = meshcharts.validate_project(meshcharts.open_project(REPO_ROOT))
    assert report.valid, [str(d) for d in report.diagnostics]
    assert report.warnings == []
    assert sorted(report.checked) == ["east/extras", "east/kiali", "east/tracing", "west/extras", "west/kiali", "west/tracing"]


def test_example_kiali_is_wired_to_rancher_monitoring_and_tracing() -> None:
    project = meshcharts.open_project(REPO_ROOT)
    services = project.compose("east", "kiali").values()["external_services"]
    assert services["prometheus"]["url"] == "http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:9090"
    assert services["grafana"]["in_cluster_url"] == "http://rancher-monitoring-grafana.cattle-monitoring-system.svc:80"
    assert services["tracing"] == {
        "in_cluster_url": "http://tracing.istio-system.svc:16686/jaeger",
        "use_grpc": False,
        "enabled": True,
    }
    assert project.compose("west", "kiali").values()["global"]["cattle"]["clusterId"] == "c-8x2kq"


def _first_key_line(path: Path) -> tuple[int, str, str]:
    """Line number, key and full line of the first mapping key in a values file."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        stripped = line.split("#")[0].rstrip()
        if ":" in stripped and not stripped.lstrip().startswith("-"):
            key = stripped.split(":")[0].strip()
            if key.isidentifier():
                return number, key, line
    raise AssertionError(f"no key in {path}")


VALUES_FILES = sorted(str(path.relative_to(REPO_ROOT)) for path in (REPO_ROOT / "values").rglob("*.yaml"))


@pytest.mark.parametrize("relative", VALUES_FILES)
def test_typo_in_any_example_file_is_reported_where_it_was_typed(example: StackDir, relative: str) -> None:
    path = example.root / relative
    number, key, line = _first_key_line(path)
    typo = key[:-1] + key[-1] * 2 if len(key) > 3 else key + "x"
    lines = path.read_text().splitlines()
    lines[number - 1] = line.replace(key, typo, 1)
    path.write_text("\n".join(lines) + "\n")
    result = example.cli("validate", "-o", "json")
    assert result.exit_code == 1
    errors = json.loads(result.output)["errors"]
    mine = [e for e in errors if e["file"] == relative]
    assert mine, errors
    column = line.index(key) + 1
    assert (mine[0]["line"], mine[0]["column"]) == (number, column)
    assert f'did you mean "{key}"?' in mine[0]["message"]
    assert mine[0]["rule"] == "schema.unknown-key"


def test_values_for_an_undeclared_cluster_is_an_error(example: StackDir) -> None:
    example.write("values/clusters/eats/kiali.yaml", "auth: {strategy: token}\n")
    result = example.cli("validate")
    assert result.exit_code == 1
    assert 'values/clusters/eats: the stack declares no cluster "eats", so these values would be ignored (did you mean "east"?)' in result.output


def test_values_for_an_undeclared_component_is_an_error(example: StackDir) -> None:
    example.write("values/kaili.yaml", "auth: {strategy: token}\n")
    example.write("values/env/prod/tracin.yaml", "jaeger: {}\n")
    example.write("values/env/prd/kiali.yaml", "auth: {strategy: token}\n")
    result = example.cli("validate")
    assert result.exit_code == 1
    assert 'values/kaili.yaml: the stack declares no component "kaili", so this file would be ignored (did you mean "kiali"?)' in result.output
    assert 'values/env/prod/tracin.yaml: the stack declares no component "tracin"' in result.output
    assert 'values/env/prd: no cluster uses env "prd", so these values would be ignored (did you mean "prod"?)' in result.output


def test_component_not_installed_on_that_cluster(example: StackDir) -> None:
    stack = yaml.safe_load((example.root / "meshcharts.yaml").read_text())
    stack["components"]["tracing"]["clusters"] = ["east"]
    example.write("meshcharts.yaml", yaml.safe_dump(stack))
    example.write("values/clusters/west/tracing.yaml", "jaeger: {}\n")
    result = example.cli("validate")
    assert 'values/clusters/west/tracing.yaml: component "tracing" is not installed on cluster "west"' in result.output


def test_seed_000_mistakes_are_reported(example: StackDir) -> None:
    """The write-up's own Kiali values: a dead key Kiali ignores."""
    example.write(
        "values/clusters/east/kiali.yaml",
        "external_services:\n  prometheus:\n    custom_metrics_url: http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:9090\n",
    )
    result = example.cli("validate")
    assert result.exit_code == 1
    assert (
        "values/clusters/east/kiali.yaml:3:5: east/kiali: external_services.prometheus.custom_metrics_url: Kiali removed custom_metrics_url "
        "in 1.22.1; this Kiali ignores it silently (use external_services.custom_dashboards.prometheus.url)"
    ) in result.output
    assert "unknown key" not in result.output  # the key rule explains it better than the schema


# --- the pre-commit hook --------------------------------------------------------------------------


def _hook() -> dict[str, object]:
    hooks = yaml.safe_load((REPO_ROOT / ".pre-commit-hooks.yaml").read_text())
    return next(hook for hook in hooks if hook["id"] == "meshcharts-validate")


def _run_hook(repo: Path, changed: list[str]) -> subprocess.CompletedProcess[str]:
    """As pre-commit does: filter changed files by the hook's `files` regex, pass them as arguments."""
    import re

    hook = _hook()
    pattern = re.compile(str(hook["files"]))
    files = [name for name in changed if pattern.search(name)]
    entry = str(hook["entry"]).split()
    command = [sys.executable, "-m", "meshcharts", *entry[1:], *files]
    return subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)


def test_hook_declares_the_documented_id() -> None:
    hook = _hook()
    assert hook["entry"] == "meshcharts validate" and hook["language"] == "python" and hook["pass_filenames"] is True


def test_hook_passes_on_clean_change_and_fails_on_typo(example: StackDir) -> None:
    ok = _run_hook(example.root, ["values/clusters/east/kiali.yaml", "README.md"])
    assert ok.returncode == 0, ok.stderr
    assert "1 composition checked" in ok.stdout  # east/kiali is the only composition that file is in
    bad = example.root / "values/clusters/east/kiali.yaml"
    bad.write_text(bad.read_text() + "auth: {strategy: anonymus}\n")
    failed = _run_hook(example.root, ["values/clusters/east/kiali.yaml"])
    assert failed.returncode == 1
    assert 'values/clusters/east/kiali.yaml:4:18: east/kiali: auth.strategy: "anonymus" is not one of' in failed.stderr
    assert 'did you mean "anonymous"?' in failed.stderr


def test_hook_only_checks_compositions_the_files_take_part_in(example: StackDir) -> None:
    broken = example.root / "values/clusters/west/tracing.yaml"
    broken.write_text("jaeger: {spanStorageType: cassandra}\n")
    east_only = _run_hook(example.root, ["values/clusters/east/kiali.yaml"])
    assert east_only.returncode == 0, east_only.stderr
    everything = _run_hook(example.root, ["meshcharts.yaml"])
    assert everything.returncode == 1
    assert "values/clusters/west/tracing.yaml:1:27: west/tracing: jaeger.spanStorageType" in everything.stderr


def test_hook_checks_every_stack_in_a_repo(tmp_path: Path) -> None:
    """Bug: with two stacks in one repo, only the first file's stack was checked."""
    for name in ("team-a", "team-b"):
        (tmp_path / name).mkdir()
        shutil.copy(REPO_ROOT / "meshcharts.yaml", tmp_path / name / "meshcharts.yaml")
        shutil.copytree(REPO_ROOT / "values", tmp_path / name / "values")
    broken = tmp_path / "team-b" / "values" / "tracing.yaml"
    broken.write_text(broken.read_text() + "zipkin: {queryPort: 9411, extra: 1}\n")
    (tmp_path / "docs" / "values").mkdir(parents=True)
    (tmp_path / "docs" / "values" / "other.yaml").write_text("a: 1\n")  # another tool's values, under no stack
    result = _run_hook(tmp_path, ["team-a/values/kiali.yaml", "team-b/values/tracing.yaml", "docs/values/other.yaml"])
    assert result.returncode == 1
    assert 'team-b/values/tracing.yaml:' in result.stderr and 'unknown key "extra"' in result.stderr
