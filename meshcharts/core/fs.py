"""File-system errors as findings, and the path tests the safety rules are built from.

An ``OSError`` is not a bug in meshcharts and not a verdict on the values: it is the machine saying no
(permission denied, a read-only disk, a file where a folder should be). Every such error becomes one
line that names the path and says what to do, with exit 2 (:class:`ConfigError`), never a traceback
or "internal error".
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from meshcharts.core.diagnostics import ConfigError, Diagnostic, Location


def display_path(path: Path) -> str:
    """A path as errors show it: relative to the current folder when below it, else absolute."""
    absolute = path if path.is_absolute() else Path.cwd() / path
    try:
        return str(absolute.relative_to(Path.cwd()))
    except ValueError:
        return str(absolute)


def refusal(path: Path, message: str, rule: str) -> ConfigError:
    """A path meshcharts will not read or write, as one line naming it (exit 2)."""
    return ConfigError(Diagnostic(message=message, rule=rule, location=Location(display_path(path))))


def is_within(path: Path, root: Path) -> bool:
    """Whether ``path`` is ``root`` or below it (both taken as given: resolve them first for links)."""
    return path == root or root in path.parents


def resolved(path: Path) -> Path:
    """``path`` with every link followed; a link loop is an error naming the path, not a crash."""
    try:
        return path.resolve()
    except RuntimeError:  # Python 3.11 reports link loops this way
        raise os_error(OSError(errno.ELOOP, os.strerror(errno.ELOOP)), "follow the link", path) from None
    except OSError as exc:
        raise os_error(exc, "follow the link", path) from None


def _advice(code: int | None, writing: bool, elsewhere: str | None) -> str:
    """What the user can do about an errno: the part of the line that makes it actionable."""
    other = f" or pass {elsewhere}" if elsewhere else ""
    if code in (errno.EACCES, errno.EPERM):
        return f"make it {'writable' if writing else 'readable'} for the user running meshcharts{other}"
    if code == errno.EROFS:
        return f"pass {elsewhere} on a writable disk" if elsewhere else "the disk is mounted read-only: choose a folder on a writable one"
    if code in (errno.ENOSPC, errno.EDQUOT):
        return f"the disk is full: free some space{other}"
    if code == errno.ELOOP:
        return "a link points back to itself: fix or remove it"
    if code == errno.ENOTDIR:
        return "a part of the path is a file, not a folder"
    if code == errno.ENOENT:
        return "it vanished while meshcharts worked: run the command again"
    return f"check the path{other}"


def os_error(exc: OSError, doing: str, path: Path | str | None = None, *, writing: bool = False, elsewhere: str | None = None) -> ConfigError:
    """One line for an OSError: ``<path>: cannot <doing>: <reason>; <what to do>``.

    ``path`` is the one to name (default: the file the error is about); ``elsewhere`` an option that
    writes somewhere else (``--out DIR``), offered where it helps.
    """
    where = path if path is not None else exc.filename
    shown = display_path(Path(os.fsdecode(where))) if where is not None else None
    reason = exc.strerror or str(exc)
    return ConfigError(
        Diagnostic(
            message=f"cannot {doing}: {reason}; {_advice(exc.errno, writing, elsewhere)}",
            rule="fs.unwritable" if writing else "fs.unreadable",
            location=Location(shown) if shown else None,
        )
    )


@contextmanager
def os_errors(doing: str, path: Path | str | None = None, *, writing: bool = False, elsewhere: str | None = None) -> Iterator[None]:
    """Turn any OSError inside the block into :func:`os_error`'s one line."""
    try:
        yield
    except OSError as exc:
        raise os_error(exc, doing, path, writing=writing, elsewhere=elsewhere) from None


def require_folder_path(path: Path, fix: str) -> None:
    """Refuse a path that is a file, or lies under one (``--out notes.txt/charts``): ``mkdir`` would fail."""
    for candidate in (path, *path.parents):
        with os_errors("read the folder", candidate):
            if not os.path.lexists(candidate):
                continue
            if candidate.is_dir():
                return
        raise refusal(candidate, f"is a file, not a folder; {fix}", "fs.not-a-folder")


__all__ = ["display_path", "is_within", "os_error", "os_errors", "refusal", "require_folder_path", "resolved"]
