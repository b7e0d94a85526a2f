"""The ``meshcharts`` process ends without the interpreter's teardown (``meshcharts.cli.run``): what a
user and a script see must not change: every byte of the output, the exit code, atexit handlers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _meshcharts(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "meshcharts", *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120)


def test_a_long_output_reaches_a_pipe_whole_with_its_exit_code() -> None:
    done = _meshcharts("explain", "east", "kiali", "--output", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout), "the whole document arrived and parses"


def test_a_failing_command_keeps_its_exit_code_and_message(tmp_path: Path) -> None:
    (tmp_path / "meshcharts.yaml").write_text("name: [broken\n", encoding="utf-8")
    done = _meshcharts("validate", cwd=tmp_path)
    assert done.returncode == 2 and "meshcharts.yaml:" in done.stdout + done.stderr


def test_atexit_handlers_still_run_and_a_message_exit_is_printed() -> None:
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('atexit ran', flush=True))\n"
        "sys.argv = ['meshcharts', '--version']\n"
        "from meshcharts.cli import run\n"
        "run()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0 and done.stdout.splitlines()[-1] == "atexit ran", done
