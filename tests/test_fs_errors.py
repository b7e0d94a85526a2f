"""File-system errors are findings: one line naming the path and what to do, exit 2, no traceback.

Permission bits are made real by running the installed CLI without the capabilities that override
them (root keeps its user, so it still reaches its checkout wherever it is); read-only folders by a
read-only bind mount in a private mount namespace (see tests/fs_helpers.py). A FIFO or a folder where
a file is expected fails for root too.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.conftest import MINIMAL_STACK, StackDir
from tests.fs_helpers import error_lines, run_read_only, run_unprivileged, scratch_dir, tree  # noqa: F401 (fixture)


def _one_line(output: str, expected: str) -> None:
    lines = error_lines(output)
    assert len(lines) == 1, output
    assert lines[0].startswith(expected), lines[0]
    assert "Traceback" not in output and "internal error" not in output


@pytest.fixture()
def scratch_stack(scratch_dir: Path) -> StackDir:
    """The minimal stack with a values file, in a folder of its own (modes are reset before removal)."""
    stack = StackDir(scratch_dir / "stack")
    stack.write("meshcharts.yaml", MINIMAL_STACK)
    stack.write("values/kiali.yaml", "auth: {strategy: anonymous}\n")
    stack.write("values/clusters/east/kiali.yaml", "deployment: {replicas: 2}\n")
    for path in [stack.root, *stack.root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return stack


# --- reading: the stack file and the layers ---


def test_an_unreadable_values_file(scratch_stack: StackDir) -> None:
    (scratch_stack.root / "values" / "kiali.yaml").chmod(0o000)
    result = run_unprivileged(scratch_stack.root, "validate")
    assert result.returncode == 2, result.stderr
    _one_line(result.stderr, "values/kiali.yaml: cannot read: Permission denied; make it readable for the user running meshcharts")


def test_an_unreadable_layer_folder(scratch_stack: StackDir) -> None:
    (scratch_stack.root / "values" / "clusters").chmod(0o000)
    result = run_unprivileged(scratch_stack.root, "validate")
    assert result.returncode == 2, result.stderr
    _one_line(result.stderr, "values/clusters: cannot read the folder: Permission denied; make it readable")


def test_a_listable_but_closed_layer_folder(scratch_stack: StackDir) -> None:
    (scratch_stack.root / "values" / "clusters" / "east").chmod(0o444)  # names visible, entries not
    result = run_unprivileged(scratch_stack.root, "explain", "east", "kiali")
    assert result.returncode == 2, result.stderr
    _one_line(result.stderr, "values/clusters/east/kiali.yaml: cannot read")


def test_an_unreadable_stack_file(scratch_stack: StackDir) -> None:
    (scratch_stack.root / "meshcharts.yaml").chmod(0o000)
    result = run_unprivileged(scratch_stack.root, "validate")
    assert result.returncode == 2, result.stderr
    _one_line(result.stderr, "meshcharts.yaml: cannot read: Permission denied")


def test_a_stack_behind_a_closed_folder(scratch_dir: Path, scratch_stack: StackDir) -> None:
    """click refuses an unreadable --stack itself: a usage error, exit 2, no traceback."""
    scratch_stack.root.chmod(0o000)
    result = run_unprivileged(scratch_dir, "validate", "--stack", "stack")
    assert result.returncode == 2, result.stderr
    assert "Path 'stack' is not readable" in result.stderr and "Traceback" not in result.stderr


def test_a_fifo_where_a_values_file_is_expected(minimal_stack: StackDir) -> None:
    (minimal_stack.root / "values").mkdir()
    os.mkfifo(minimal_stack.root / "values" / "kiali.yaml")
    result = minimal_stack.cli("validate")
    assert result.exit_code == 2, result.output
    _one_line(result.output, "values/kiali.yaml: is not a regular file")


def test_a_folder_where_a_values_file_is_expected(minimal_stack: StackDir) -> None:
    (minimal_stack.root / "values" / "clusters" / "east" / "kiali.yaml").mkdir(parents=True)
    result = minimal_stack.cli("validate")
    assert result.exit_code == 2, result.output
    _one_line(result.output, "values/clusters/east/kiali.yaml: is not a regular file")


# --- writing: charts-out, --out, and init ---


def test_charts_out_is_a_file(minimal_stack: StackDir) -> None:
    minimal_stack.write("charts-out", "not a folder\n")
    result = minimal_stack.cli("render")
    assert result.exit_code == 2
    _one_line(result.output, "charts-out: is a file, not a folder; move it away or pass --out DIR")


def test_out_is_a_file_or_under_one(minimal_stack: StackDir) -> None:
    minimal_stack.write("build", "not a folder\n")
    before = tree(minimal_stack.root)
    for out in ("build", "build/charts"):
        result = minimal_stack.cli("render", "--out", out)
        assert result.exit_code == 2, result.output
        _one_line(result.output, "build: is a file, not a folder")
    assert tree(minimal_stack.root) == before


def test_charts_out_not_writable(scratch_stack: StackDir) -> None:
    (scratch_stack.root / "charts-out").mkdir()
    (scratch_stack.root / "charts-out").chmod(0o555)
    result = run_unprivileged(scratch_stack.root, "render")
    assert result.returncode == 2, result.stderr
    _one_line(result.stderr, "charts-out: cannot write: Permission denied; make it writable for the user running meshcharts or pass --out DIR")
    assert list((scratch_stack.root / "charts-out").iterdir()) == []


def test_a_read_only_charts_out(minimal_stack: StackDir) -> None:
    assert minimal_stack.cli("render").exit_code == 0
    out = minimal_stack.root / "charts-out"
    before = tree(out)
    result = run_read_only(out, minimal_stack.root, "render")
    assert result.returncode == 2, result.stderr
    _one_line(result.stderr, "charts-out: cannot write: Read-only file system; pass --out DIR on a writable disk")
    assert tree(out) == before


def test_a_read_only_stack_root(minimal_stack: StackDir) -> None:
    result = run_read_only(minimal_stack.root, minimal_stack.root, "render")
    assert result.returncode == 2, result.stderr
    _one_line(result.stderr, "charts-out: cannot create the folder: Read-only file system")
    assert not (minimal_stack.root / "charts-out").exists()


def test_init_under_a_file(stack_dir: StackDir) -> None:
    stack_dir.write("taken", "a file\n")
    for target in ("taken", "taken/lab"):
        result = stack_dir.cli("init", target)
        assert result.exit_code == 2, result.output
        _one_line(result.output, "taken: is a file, not a folder")
    assert (stack_dir.root / "taken").read_text() == "a file\n"


def test_init_into_a_read_only_folder(stack_dir: StackDir) -> None:
    result = run_read_only(stack_dir.root, stack_dir.root, "init", "lab")
    assert result.returncode == 2, result.stderr
    _one_line(result.stderr, "lab: cannot create the folder: Read-only file system")


def test_init_into_a_folder_it_may_not_write(scratch_dir: Path) -> None:
    (scratch_dir / "locked").mkdir()
    (scratch_dir / "locked").chmod(0o555)
    result = run_unprivileged(scratch_dir, "init", "locked/lab")
    assert result.returncode == 2, result.stderr
    _one_line(result.stderr, "locked/lab: cannot create the folder: Permission denied")


def test_a_full_disk_half_way_leaves_the_previous_output(minimal_stack: StackDir, monkeypatch: pytest.MonkeyPatch) -> None:
    assert minimal_stack.cli("render").exit_code == 0
    out = minimal_stack.root / "charts-out"
    before = tree(out)
    real_write = Path.write_text

    def full_disk(self: Path, *args: object, **kwargs: object) -> int:
        if self.name == "releases.yaml":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real_write(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_text", full_disk)
    result = minimal_stack.cli("render")
    assert result.exit_code == 2
    _one_line(result.output, "charts-out: cannot write: No space left on device; the disk is full: free some space or pass --out DIR")
    assert tree(out) == before
