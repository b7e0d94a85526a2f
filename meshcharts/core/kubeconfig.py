"""Kubeconfig files read before a Kubernetes client is: a file that is no kubeconfig is one line naming it.

A YAML parse error let out as it is was an internal error (exit 3) in apply; here it is the file and
line. Which files are read follows client-go's loading rules (``meshcharts.kube`` merges them): the
file given (a stack cluster's ``kubeconfig:`` or ``--kubeconfig``), else each file ``$KUBECONFIG``
lists, else ``~/.kube/config``; a setting may list several files (separated by ``os.pathsep``) and
files that do not exist are skipped (none left: the cluster's context cannot be used, per cluster).

A kubeconfig holds credentials, so what is said about one names the file, the line and what is wrong,
never what the file contains.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from meshcharts.core.diagnostics import Diagnostic, Location

RULE = "cluster.kubeconfig"
DEFAULT_KUBECONFIG = "~/.kube/config"


def kubeconfig_files(kubeconfig: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None) -> list[Path]:
    """The existing files a client for this setting reads (``None``: ``$KUBECONFIG``, else the default)."""
    env = os.environ if environ is None else environ
    setting = os.fspath(kubeconfig) if kubeconfig else env.get("KUBECONFIG") or DEFAULT_KUBECONFIG
    files = [Path(part).expanduser() for part in setting.split(os.pathsep) if part]
    return [path for path in files if path.exists()]


def kubeconfig_problems(kubeconfig: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None) -> list[Diagnostic]:
    """Why each file this setting names is not a kubeconfig: unreadable, not YAML, empty, not a mapping."""
    found = (file_problem(path) for path in kubeconfig_files(kubeconfig, environ))
    return [problem for problem in found if problem is not None]


#: Parsed kubeconfig files by (path, inode, size, mtime): a run reads each file for its checks and for
#: every cluster's client, and parsing it is most of what opening a client costs.
_PARSED: dict[tuple[str, int, int, int], Any] = {}

_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser, in every PyYAML wheel


def read_kubeconfig(path: Path) -> Any:
    """The YAML document of a kubeconfig file, parsed once per process while the file stays the same.

    Raises OSError when it cannot be read and yaml.YAMLError when it is not YAML (the error of PyYAML's
    own parser, whose messages say where and what, as :func:`file_problem` reports them).
    """
    status = path.stat()
    key = (str(path), status.st_ino, status.st_size, status.st_mtime_ns)
    if key not in _PARSED:
        text = path.read_bytes()
        try:
            _PARSED[key] = yaml.load(text, Loader=_FAST_LOADER)
        except yaml.YAMLError:
            yaml.safe_load(text)  # the pure-Python parser's error, with its line and wording
            raise
    return _PARSED[key]


def file_problem(path: Path) -> Diagnostic | None:
    """One line at the file (and the line of a YAML error) when ``path`` cannot be a kubeconfig."""
    shown = str(path)
    try:
        document = read_kubeconfig(path)
    except OSError as exc:
        return _problem(Location(shown), f"cannot read the kubeconfig: {exc.strerror or exc}")
    except yaml.YAMLError as exc:
        line, column, reason = yaml_error_parts(exc)
        return _problem(Location(shown, line or 0, column or 0), f"not a kubeconfig: not YAML ({reason})")
    if document is None:
        return _problem(Location(shown), "not a kubeconfig: the file is empty")
    if not isinstance(document, dict):
        kind = "a list" if isinstance(document, list) else "a single value"
        return _problem(Location(shown, 1, 1), f"not a kubeconfig: {kind}, where a mapping of clusters, contexts and users belongs")
    return None


def yaml_error_parts(exc: yaml.YAMLError) -> tuple[int | None, int | None, str]:
    """(line, column, reason) of a YAML error, the reason without the file's text.

    PyYAML's ``str()`` of an error can quote the lines around it (``get_snippet``); a kubeconfig's
    lines hold tokens and keys, so only the mark and PyYAML's own description of the problem are used.
    """
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        reason = exc.problem or exc.context or "cannot be parsed"
        if mark is None:
            return None, None, reason
        return mark.line + 1, mark.column + 1, reason
    if isinstance(exc, yaml.reader.ReaderError):  # bytes that are no text, or a control character
        if exc.encoding == "unicode":  # decoded, but a character YAML does not allow (NUL, most controls)
            return None, None, f"character #x{exc.character:04x} is not allowed, at character {exc.position + 1}"
        return None, None, f"byte #x{exc.character:02x} at byte {exc.position + 1} is not {exc.encoding} text"
    return None, None, type(exc).__name__


def _problem(location: Location, message: str) -> Diagnostic:
    return Diagnostic(
        message=message,
        rule=RULE,
        location=location,
        hint="fix the file, or point --kubeconfig, the cluster's kubeconfig: or $KUBECONFIG at another",
    )


__all__ = ["kubeconfig_files", "kubeconfig_problems", "file_problem", "read_kubeconfig", "yaml_error_parts"]
