"""The one-line cause of a dead sandbox component, read from the log kwokctl keeps for it."""

from __future__ import annotations

import json
from pathlib import Path

from meshcharts.sandbox import logs


def _log(tmp_path: Path, component: str, *lines: str) -> Path:
    path = logs.log_path(tmp_path, component)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines))
    return path


def _json(level: str, msg: str, **fields: str) -> str:
    return json.dumps({"level": level, "ts": "2026-12-02T01:37:05Z", "msg": msg, **fields})


def test_the_last_json_error_gives_its_message_and_error(tmp_path: Path) -> None:
    path = _log(
        tmp_path,
        "etcd",
        _json("info", "starting"),
        _json("fatal", "discovery failed", error="listen tcp 127.0.0.1:32766: bind: address already in use", stacktrace="go..."),
        _json("info", "closed etcd server"),
    )
    assert logs.last_error(path) == "discovery failed: listen tcp 127.0.0.1:32766: bind: address already in use"


def test_a_klog_error_gives_its_err_field(tmp_path: Path) -> None:
    path = _log(
        tmp_path,
        "kube-apiserver",
        "I1202 01:37:05.411509   12200 server.go:151] Version: v1.37.2",
        'E1202 01:37:05.418512   12200 run.go:72] "command failed" err="failed to listen on 127.0.0.1:32764: '
        'listen tcp 127.0.0.1:32764: bind: address already in use"',
    )
    assert logs.last_error(path) == "failed to listen on 127.0.0.1:32764: listen tcp 127.0.0.1:32764: bind: address already in use"


def test_a_log_without_errors_gives_its_last_line_and_a_missing_log_nothing(tmp_path: Path) -> None:
    path = _log(tmp_path, "kube-scheduler", "I1202 01:37:05.1 1 a.go:1] one", "I1202 01:37:06.1 1 a.go:2] two", "")
    assert logs.last_error(path) == "I1202 01:37:06.1 1 a.go:2] two"
    assert logs.last_error(tmp_path / "logs" / "absent.log") is None


def test_the_cause_is_the_first_dead_component_that_logged_one_shortened_to_a_line(tmp_path: Path) -> None:
    _log(tmp_path, "kube-apiserver", 'F1202 01:00:00.000000 1 x.go:1] "boom" err="' + "x" * 500 + '"')
    _log(tmp_path, "kube-controller-manager", 'E1202 01:00:01.000000 1 y.go:1] "waiting" err="apiserver not healthy"')
    cause = logs.cause(tmp_path, ["etcd", "kube-apiserver", "kube-controller-manager"])
    assert cause is not None and cause.startswith("kube-apiserver: xxx") and cause.endswith("...")
    assert len(cause) <= len("kube-apiserver: ") + logs.MAX_REASON
    assert logs.cause(tmp_path, ["etcd"]) is None


def test_only_the_end_of_a_long_log_is_read(tmp_path: Path) -> None:
    early = _json("fatal", "an old failure", error="long ago")
    path = _log(tmp_path, "etcd", early, *[_json("info", "x" * 100)] * (2 * logs.TAIL_BYTES // 100))
    assert "long ago" not in (logs.last_error(path) or "")
