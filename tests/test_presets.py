"""`meshcharts init --preset P` writes a stack that validates and renders clean, for every write-up
scenario, and every chart it generates passes the real helm's lint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import meshcharts
from meshcharts.helm.client import HelmClient
from meshcharts.load.local_charts import local_chart_path
from meshcharts.presets.scaffold import PRESET_SUMMARIES, preset_names
from tests.conftest import REPO_ROOT, StackDir

ADDONS = REPO_ROOT / "tests" / "fixtures" / "addons" / "istio-1.99.0"


def test_every_preset_is_documented() -> None:
    assert preset_names() == sorted(PRESET_SUMMARIES)


@pytest.mark.parametrize("preset", sorted(PRESET_SUMMARIES))
def test_preset_validates_and_renders_clean(preset: str, tmp_path: Path, helm_client: HelmClient) -> None:
    stack = StackDir(tmp_path / f"my-{preset}")
    result = StackDir(tmp_path).cli("init", stack.root.name, "--preset", preset, "--addons-source", str(ADDONS))
    assert result.exit_code == 0, result.output
    assert yaml.safe_load((stack.root / "meshcharts.yaml").read_text())["name"] == f"my-{preset}"
    _fetch_local_charts(stack.root)
    validated = stack.cli("validate", "-o", "json")
    assert validated.exit_code == 0, validated.output
    document = json.loads(validated.output)
    assert document["errors"] == [] and document["warnings"] == []
    rendered = stack.cli("render", "-o", "json")
    assert rendered.exit_code == 0, rendered.output
    for cluster, releases in json.loads(rendered.output)["clusters"].items():
        for release in releases:
            if release["repo"] is None:  # a chart meshcharts generated
                folder = stack.root / "charts-out" / cluster
                values = yaml.safe_load((folder / release["values"]).read_text())
                lint = helm_client.lint(folder / release["chart"], values)
                assert lint.ok, (release["release"], lint.messages)


def _fetch_local_charts(root: Path) -> None:
    """What `helm pull` would put where a preset expects an offline chart (a placeholder archive)."""
    stack = meshcharts.open_project(root).stack
    for component in stack.components.values():
        path = local_chart_path(stack.root, component)
        if path is not None and not path.exists():
            path.write_bytes(b"\x1f\x8b placeholder")


@pytest.mark.parametrize("preset", sorted(PRESET_SUMMARIES))
def test_deleting_any_kiali_url_lets_render_fill_it(preset: str, tmp_path: Path) -> None:
    """Issue 3's promise: no hand-typed Kiali URL is needed; each is filled from the providers."""
    stack = StackDir(tmp_path / preset)
    StackDir(tmp_path).cli("init", preset, "--preset", preset, "--addons-source", str(ADDONS))
    project = meshcharts.open_project(stack.root)
    for composition in project.compose_all():
        for need in composition.component.type.needs(composition.component, composition.validation_values()):
            if need.role == "prometheus":
                assert composition.is_user_set(need.path) is False
                assert str(composition.get(need.path)).startswith("http://"), (preset, composition.label)


def test_preset_with_addons_but_no_source_says_what_to_do(stack_dir: StackDir) -> None:
    result = stack_dir.cli("init", "lab", "--preset", "kube-prometheus")
    assert result.exit_code == 0
    assert "note: component addons is generated from Istio 1.13.1's samples/addons" in result.output
    validated = StackDir(stack_dir.root / "lab").cli("validate")
    assert validated.exit_code == 1
    assert "lab/addons: source:" in validated.output


def test_init_refuses_to_overwrite_and_unknown_presets(stack_dir: StackDir) -> None:
    assert stack_dir.cli("init", "one").exit_code == 0
    again = stack_dir.cli("init", "one")
    assert again.exit_code == 2 and "one: would overwrite 6 files already there (meshcharts.yaml, " in again.output and "pass --force" in again.output
    assert stack_dir.cli("init", "one", "--force").exit_code == 0
    unknown = stack_dir.cli("init", "two", "--preset", "rancer")
    assert unknown.exit_code == 2 and 'no preset "rancer"' in unknown.output and 'did you mean "rancher"?' in unknown.output
    assert not (stack_dir.root / "two").exists() or not any((stack_dir.root / "two").iterdir())


def test_init_keeps_the_presets_comments(stack_dir: StackDir) -> None:
    stack_dir.cli("init", "east-stack", "--preset", "rancher")
    text = (stack_dir.root / "east-stack" / "meshcharts.yaml").read_text()
    assert "# Rancher installs the NavLink CRD" in text and text.count("name: east-stack") == 1


def test_bundled_example_is_the_rancher_preset() -> None:
    preset = REPO_ROOT / "meshcharts" / "presets" / "rancher"
    for path in preset.rglob("*.yaml"):
        relative = path.relative_to(preset)
        ours = (REPO_ROOT / relative).read_text().splitlines()[1:]
        assert ours == path.read_text().splitlines()[1:], relative
