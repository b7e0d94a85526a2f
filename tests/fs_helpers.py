"""File-system helpers for the safety tests: tree snapshots, and real permission and read-only failures.

The tests run as root, for whom permission bits stop nothing. Two things still fail for real:
a command run as ``nobody`` (``setpriv``) meets the permission bits, and a read-only bind mount in a
private mount namespace (``unshare -rm``) gives EROFS. Tests that need one skip, saying why, where the
machine cannot do it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

MESHCHARTS = REPO_ROOT / ".venv" / "bin" / "meshcharts"
NOBODY = 65534


def tree(root: Path) -> dict[str, str]:
    """Every entry under ``root``, links not followed: a file's text, ``dir``, or ``link -> target``."""
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        for name in sorted(dirs + files):
            path = Path(folder) / name
            relative = str(path.relative_to(root))
            if path.is_symlink():
                found[relative] = f"link -> {os.readlink(path)}"
            elif path.is_dir():
                found[relative] = "dir"
            else:
                found[relative] = path.read_bytes().decode("utf-8", "replace")
    return found


def error_lines(output: str) -> list[str]:
    """The lines a command printed, minus validate's summary."""
    return [line for line in output.splitlines() if line.strip() and not line.startswith(("ok:", "invalid:"))]


@pytest.fixture()
def shared_dir() -> Iterator[Path]:
    """A folder every user may enter (pytest's tmp_path is root's alone), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="meshcharts-fs-", dir="/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(folder)


def run_as_nobody(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed CLI run as ``nobody`` in ``cwd``: the permission bits apply to it."""
    if os.geteuid() != 0:
        pytest.skip("dropping to nobody needs root; as a normal user chmod already stops reads")
    if shutil.which("setpriv") is None:
        pytest.skip("setpriv (util-linux) is not installed, so the permission cases cannot be made real")
    command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", str(MESHCHARTS), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, env={**os.environ, "HOME": str(cwd)})


def run_read_only(folder: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed CLI run with ``folder`` mounted read-only (a private mount namespace; nothing else sees it)."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        pytest.skip("unshare/mount are not installed, so a read-only folder cannot be made")
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("this machine does not allow private mount namespaces (unshare -rm), so no read-only folder")
    script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"'
    command = ["unshare", "-rm", "sh", "-c", script, "sh", str(folder), str(MESHCHARTS), *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
