"""YAML files from disk: read as UTF-8 text with size and file-type guards, then parsed with positions.

The parsing itself (one pass, positions, meshcharts' tags, the alias and depth guards) is
:mod:`meshcharts.load.yamlio`; this module is the part that meets the file system.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from meshcharts.core.diagnostics import ConfigError, Diagnostic, Location
from meshcharts.core.fs import os_error
from meshcharts.load.yamlio import load_text, yaml_error

MAX_FILE_BYTES = 8 * 1024 * 1024  # the 6,000-line kube-prometheus-stack values are ~250 KB


@dataclass(frozen=True)
class LoadedYAML:
    """One parsed file: its content (``None`` when it holds only comments) and its display name."""

    display_name: str
    content: Any


def read_text(path: Path, display_name: str) -> str:
    """Read a YAML file as UTF-8 text, refusing what would otherwise crash or hang later."""
    where = Location(display_name)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise yaml_error(
                f"file is {size / 1024 / 1024:.1f} MiB; meshcharts reads YAML files up to "
                f"{MAX_FILE_BYTES // 1024 // 1024} MiB",
                where,
                "yaml.too-large",
            )
        if not path.is_file():  # a FIFO would block the read, a folder fail it: a file-system error, exit 2
            raise ConfigError(
                Diagnostic(message="is not a regular file; a values file must be a plain YAML file", rule="yaml.not-a-file", location=where)
            )
        data = path.read_bytes()
    except RuntimeError:  # pathlib reports symlink loops this way on some Pythons
        raise os_error(OSError(errno.ELOOP, os.strerror(errno.ELOOP)), "read", display_name) from None
    except OSError as exc:  # permission denied, a link loop ...: the machine says no, exit 2
        raise os_error(exc, "read", display_name) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise yaml_error(
            f"is not UTF-8 (byte 0x{data[exc.start]:02x}); save the file as UTF-8",
            Location(display_name, line, column),
            "yaml.encoding",
        ) from None


def load_file(path: Path, display_name: str | None = None, *, allow_empty: bool = False) -> LoadedYAML:
    """Parse one YAML file into YMap/YList/scalars with positions."""
    name = display_name or str(path)
    text = read_text(path, name)
    if not text.strip() and not allow_empty:
        raise yaml_error(
            "file is empty; write {} if it is meant to set nothing", Location(name, 1, 1), "yaml.empty"
        )
    return LoadedYAML(name, load_text(text, name))
