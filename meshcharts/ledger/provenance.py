"""Who is running, where, and at which commit of the stack: the facts a run records about itself."""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Identity:
    """This process as other meshcharts processes will judge it: alive while ``pid`` runs on ``host``."""

    user: str
    host: str
    pid: int

    @property
    def who(self) -> str:
        return f"{self.user}@{self.host}"


def current_identity() -> Identity:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container user with no passwd entry and no $USER
        user = f"uid{os.getuid()}"
    return Identity(user=user, host=socket.gethostname(), pid=os.getpid())


def git_commit(path: Path) -> str | None:
    """The commit checked out in the repository holding ``path``, or None outside git (or without git).

    Runs ``git rev-parse HEAD`` without a shell; a repository with no commit yet gives None too.
    """
    git = shutil.which("git")
    if git is None:
        return None
    folder = path if path.is_dir() else path.parent
    try:
        result = subprocess.run(
            [git, "-C", str(folder), "rev-parse", "--verify", "--quiet", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = result.stdout.strip()
    return commit if result.returncode == 0 and commit else None


def process_alive(pid: int) -> bool:
    """Whether ``pid`` names a live process on this host (a zombie, killed but unreaped, counts as gone)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else: go on to tell a zombie from a live one
        pass
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return True  # no procfs (macOS): the signal check is all we have
    return stat.rpartition(")")[2].split()[:1] != ["Z"]
