"""File-system helpers for the safety tests: tree snapshots, and real permission and read-only failures.

The tests run as root, for whom permission bits stop nothing. Two things still fail for real:
the CLI run without the capabilities that override permission bits (``setpriv`` drops
CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH) meets the bits of the files it owns, and a read-only bind
mount in a private mount namespace (``unshare -rm``) gives EROFS. The CLI keeps its user, so it still
reaches its own checkout and interpreter wherever they are (a clone under root's 0700 home, a pyenv
Python under /root), which a switch to ``nobody`` could not. Tests that need one skip, saying why,
where the machine cannot do it.
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
# The capabilities that let root read, write and enter whatever the permission bits say.
OVERRIDES = "-dac_override,-dac_read_search"


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
def scratch_dir() -> Iterator[Path]:
    """A folder outside pytest's tmp_path, made anew and removed afterwards whatever modes a test left."""
    folder = Path(tempfile.mkdtemp(prefix="meshcharts-fs-", dir="/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        for path in [folder, *folder.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
        shutil.rmtree(folder)


def run_unprivileged(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed CLI run in ``cwd`` so that the permission bits apply to it, even for the owner.

    As root: the same user without the capabilities that override the bits, so a file of mode 000 or
    a folder of mode 555 stops it as it stops any user. As another user: the CLI as it is.
    """
    command = [str(MESHCHARTS), *args]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("setpriv (util-linux) is not installed, so the permission cases cannot be made real for root")
        command = ["setpriv", f"--bounding-set={OVERRIDES}", "--inh-caps=-all", *command]
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
