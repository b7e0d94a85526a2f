"""Why a sandbox component stopped, in one line, read from the log kwokctl keeps for it.

"did not start: etcd not running" sends the user to five log files of thousands of lines each. The
reason is almost always the last error the component logged before it exited: etcd and kwok write
JSON lines (``"level":"fatal"``), the Kubernetes binaries klog lines (``E1202 01:37:05 ... run.go:72]
"command failed" err="..."``). We read the tail of the file, take the last such error and keep what
names the cause (``listen tcp 127.0.0.1:32766: bind: address already in use``), so a failed ``up``, a
CI log or a bug report says what went wrong without anyone opening the logs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: Enough of a log's end to hold its last errors; the logs run to megabytes on a long-lived cluster.
TAIL_BYTES = 64 * 1024
#: The longest reason we put on a line (the message is one line; the log has the rest).
MAX_REASON = 240

_JSON_ERROR_LEVELS = {"error", "fatal", "panic", "dpanic"}
# klog: severity letter, MMDD, time, pid, file:line] message.
_KLOG = re.compile(r"^(?P<severity>[EF])\d{4} [\d:.]+\s+\d+ [^\]]+\] (?P<message>.*)$")
_KLOG_ERR = re.compile(r'\berr="((?:[^"\\]|\\.)*)"')


def log_path(cluster_dir: Path, component: str) -> Path:
    """Where kwokctl's binary runtime writes ``component``'s output."""
    return cluster_dir / "logs" / f"{component}.log"


def _tail_lines(path: Path) -> list[str]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            data = handle.read()
    except OSError:
        return []
    lines = data.decode("utf-8", errors="replace").splitlines()
    # The first line of a window that starts mid-file is a fragment.
    return lines[1:] if size > TAIL_BYTES else lines


def _json_reason(line: str) -> str | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or str(record.get("level", "")).lower() not in _JSON_ERROR_LEVELS:
        return None
    message = str(record.get("msg", "")).strip()
    error = record.get("error", record.get("err"))
    if error:
        return f"{message}: {error}" if message else str(error)
    return message or None


def _klog_reason(line: str) -> str | None:
    match = _KLOG.match(line)
    if match is None:
        return None
    message = match.group("message").strip()
    error = _KLOG_ERR.search(message)
    if error:
        return error.group(1).replace('\\"', '"')
    return message or None


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 3] + "..."


def last_error(path: Path) -> str | None:
    """The last error ``path`` logged, shortened to one line; else its last line; None if it has none."""
    lines = [line for line in _tail_lines(path) if line.strip()]
    for line in reversed(lines):
        stripped = line.strip()
        reason = _json_reason(stripped) if stripped.startswith("{") else _klog_reason(stripped)
        if reason is None and stripped.startswith(("panic:", "fatal error:", "Error:")):
            reason = stripped
        if reason:
            return _shorten(reason)
    return _shorten(lines[-1]) if lines else None


def cause(cluster_dir: Path, dead: list[str]) -> str | None:
    """``component: reason`` for the first of ``dead`` (in start order) that logged one.

    The rest usually died of it: with etcd gone the API server exits, and the controllers time out
    waiting for the API server; naming the first cause keeps the message one readable line.
    """
    for component in dead:
        reason = last_error(log_path(cluster_dir, component))
        if reason:
            return f"{component}: {reason}"
    return None
