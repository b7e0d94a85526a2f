"""``render`` writes and deletes only inside its output folder, and only what it wrote itself.

Each case is a stack an attacker (or an accident) could commit: output folders that are links leading
out, a cluster folder meshcharts did not write, values files and layer folders linked from outside the
stack, leftovers of a killed render, a swap that fails half-way. Every refusal is one line, exit 2, and
the tree outside the output is byte-for-byte what it was.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MINIMAL_STACK, StackDir
from tests.fs_helpers import error_lines, tree


@pytest.fixture()
def stack(tmp_path: Path) -> StackDir:
    """The minimal stack in ``tmp_path/stack``, with a ``tmp_path/outside`` folder holding a user's files."""
    stack = StackDir(tmp_path / "stack")
    stack.write("meshcharts.yaml", MINIMAL_STACK)
    outside = tmp_path / "outside"
    (outside / "east").mkdir(parents=True)
    (outside / "east" / "precious.txt").write_text("the user's file\n")
    (outside / "kiali.yaml").write_text("auth: {strategy: anonymous}\n")
    return stack


def _outside(stack: StackDir) -> Path:
    return stack.root.parent / "outside"


def _refused(stack: StackDir, *args: str, expected: str) -> None:
    """Render is refused with one line starting ``expected``, exit 2, and nothing anywhere changed."""
    before = tree(stack.root.parent)
    result = stack.cli("render", *args)
    assert result.exit_code == 2, result.output
    lines = error_lines(result.output)
    assert len(lines) == 1 and lines[0].startswith(expected), result.output
    assert tree(stack.root.parent) == before


def test_values_files_and_layer_folders_linked_from_outside_are_refused(stack: StackDir) -> None:
    outside = _outside(stack)
    (stack.root / "values").mkdir()
    (stack.root / "values" / "kiali.yaml").symlink_to(outside / "kiali.yaml")
    for command in ("validate", "render"):
        result = stack.cli(command)
        assert result.exit_code == 2, result.output
        lines = error_lines(result.output)
        assert len(lines) == 1 and lines[0].startswith("values/kiali.yaml: is a link to a file outside the stack folder"), result.output
    (stack.root / "values" / "kiali.yaml").unlink()
    (stack.root / "values" / "clusters").mkdir()
    (stack.root / "values" / "clusters" / "east").symlink_to(outside, target_is_directory=True)
    result = stack.cli("validate")
    assert result.exit_code == 2
    assert error_lines(result.output)[0].startswith("values/clusters/east: is a link to a folder outside the stack folder")
    (stack.root / "values").rename(stack.root / "values-real")
    (stack.root / "values").symlink_to(outside, target_is_directory=True)
    result = stack.cli("validate")
    assert result.exit_code == 2
    assert error_lines(result.output)[0].startswith("values: is a link to a folder outside the stack folder")
    assert not (stack.root / "charts-out").exists()


def test_links_inside_the_stack_are_followed(stack: StackDir) -> None:
    stack.write("shared/kiali.yaml", "auth: {strategy: anonymous}\n")
    (stack.root / "values").mkdir()
    (stack.root / "values" / "kiali.yaml").symlink_to(Path("..") / "shared" / "kiali.yaml")
    result = stack.cli("explain", "east", "kiali", "auth.strategy")
    assert result.exit_code == 0, result.output
    assert "anonymous" in result.output and "values/kiali.yaml:1:" in result.output


def test_a_stack_file_linked_from_outside_its_folder_is_refused(stack: StackDir, tmp_path: Path) -> None:
    (stack.root / "meshcharts.yaml").rename(tmp_path / "outside" / "meshcharts.yaml")
    (stack.root / "meshcharts.yaml").symlink_to(tmp_path / "outside" / "meshcharts.yaml")
    before = tree(tmp_path)
    result = stack.cli("render")
    assert result.exit_code == 2
    lines = error_lines(result.output)
    assert len(lines) == 1 and lines[0].startswith("meshcharts.yaml: is a link to a file outside its folder"), result.output
    assert tree(tmp_path) == before


def test_dashboard_files_outside_the_stack_are_not_read(stack: StackDir) -> None:
    (_outside(stack) / "board.json").write_text('{"title": "secret-board"}\n')
    extras = "  extras: {type: mesh-extras, namespace: istio-system}\nexternal:\n"
    stack.write("meshcharts.yaml", MINIMAL_STACK.replace("external:\n", extras, 1))
    stack.write("values/extras.yaml", f"monitors: {{enabled: false}}\ndashboards:\n  items:\n    board: {{file: {_outside(stack) / 'board.json'}}}\n")
    result = stack.cli("render")
    assert result.exit_code == 1, result.output
    assert "values/extras.yaml:4:19: east/extras: dashboards.items.board.file:" in result.output
    assert "is outside the stack folder" in result.output
    assert all("secret-board" not in text for text in tree(stack.root).values())
