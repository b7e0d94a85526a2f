"""``init`` never overwrites a user's files unasked, never writes outside the folder it was given, and
never writes a stack its own schema rejects; ``render --cluster ''`` is a usage error."""

from __future__ import annotations

import pytest
import yaml

from meshcharts.core.diagnostics import ConfigError
from meshcharts.presets import scaffold
from tests.conftest import StackDir
from tests.fs_helpers import error_lines, tree


def test_init_refuses_to_overwrite_a_users_values_file(stack_dir: StackDir) -> None:
    stack_dir.write("lab/values/kiali.yaml", "auth: {strategy: token}  # mine\n")
    stack_dir.write("lab/values/tracing.yaml", "jaeger: {}\n")
    before = tree(stack_dir.root)
    result = stack_dir.cli("init", "lab")
    assert result.exit_code == 2, result.output
    lines = error_lines(result.output)
    assert lines == ["lab: would overwrite 2 files already there (values/kiali.yaml, values/tracing.yaml); pass --force to overwrite them"], result.output
    assert tree(stack_dir.root) == before
    forced = stack_dir.cli("init", "lab", "--force")
    assert forced.exit_code == 0, forced.output
    assert "# mine" not in (stack_dir.root / "lab/values/kiali.yaml").read_text()


def test_force_does_not_replace_folders_or_write_through_links(stack_dir: StackDir) -> None:
    stack_dir.write("lab/values/kiali.yaml/notes.md", "a folder where init writes a file\n")
    before = tree(stack_dir.root)
    result = stack_dir.cli("init", "lab", "--force")
    assert result.exit_code == 2
    assert error_lines(result.output) == ["lab/values/kiali.yaml: is a folder where init writes a file; move it away"]
    assert tree(stack_dir.root) == before
    (stack_dir.root / "lab").rename(stack_dir.root / "old")
    stack_dir.write("outside/keep.txt", "outside the folder init was given\n")
    (stack_dir.root / "lab").mkdir()
    (stack_dir.root / "lab" / "values").symlink_to(stack_dir.root / "outside", target_is_directory=True)
    before = tree(stack_dir.root)
    result = stack_dir.cli("init", "lab", "--force")
    assert result.exit_code == 2
    assert error_lines(result.output)[0].startswith("lab/values: is a link to a folder outside lab; init writes only inside the folder it is given")
    assert tree(stack_dir.root) == before


def test_the_stack_name_from_a_folder_name_passes_the_schema(stack_dir: StackDir) -> None:
    for folder, name in (("Ωmega Über", "mega-uber"), ("日本", "mesh-observability"), ("_A__B-", "a-b")):
        result = stack_dir.cli("init", folder)
        assert result.exit_code == 0, result.output
        assert yaml.safe_load((stack_dir.root / folder / "meshcharts.yaml").read_text())["name"] == name
        validated = StackDir(stack_dir.root / folder).cli("validate")
        assert validated.exit_code == 0, validated.output


def test_a_stack_that_fails_its_schema_is_not_written(stack_dir: StackDir, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scaffold, "_stack_name", lambda folder: "Not_A_Name")
    with pytest.raises(ConfigError) as raised:
        scaffold.init_stack(stack_dir.root / "lab")
    [problem] = raised.value.diagnostics
    assert problem.path == "name" and "does not match" in problem.message
    assert problem.location is not None and problem.location.file.endswith("lab/meshcharts.yaml") and problem.location.line == 4
    assert not (stack_dir.root / "lab").exists()


def test_render_with_an_empty_cluster_name_is_a_usage_error(minimal_stack: StackDir) -> None:
    result = minimal_stack.cli("render", "--cluster", "")
    assert result.exit_code == 2, result.output
    assert error_lines(result.output) == ["--cluster needs a cluster name: east, west"]
    assert not (minimal_stack.root / "charts-out").exists()


def test_render_api_refuses_an_unknown_cluster(minimal_stack: StackDir) -> None:
    import meshcharts

    project = meshcharts.open_project(minimal_stack.root)
    with pytest.raises(ConfigError, match='no cluster "nowhere"'):
        meshcharts.render_project(project, "nowhere")
    assert not (minimal_stack.root / "charts-out").exists()
