"""The export's folder: written whole or not at all, only where meshcharts may write, byte-stable.

The default is ``gitops-out/<engine>/`` beside the stack; ``--out DIR`` names the folder itself. The
same safety as ``render`` (:mod:`meshcharts.deploy.outdir`): the folder must resolve inside the stack
unless ``--out`` names a place outside it, a folder meshcharts did not write (no marker file) or a
link is refused, never deleted; the new folder is built aside and swapped in with two renames, so a
failure leaves the previous export whole.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from meshcharts.core.fs import is_within, os_error
from meshcharts.deploy.outdir import check_replaceable, clean_leftovers, locked, new_staging, output_folder, swap
from meshcharts.deploy.render import dump_values

OUTPUT_DIR = "gitops-out"
COMMAND = "export"


def yaml_document(document: dict[str, Any], comment: str) -> str:
    """One object as a YAML file: a comment line saying what it is, keys in the order written."""
    return f"# {comment}\n# Written by meshcharts export: change the stack, then export again.\n" + dump_values(document)


def target_folder(stack_root: Path, engine: str, out: Path | None) -> Path:
    """The export folder, not yet created: ``--out`` as given, else ``gitops-out/<engine>`` beside the stack."""
    return Path(os.path.abspath(out)) if out is not None else stack_root / OUTPUT_DIR / engine


def write_export(stack_root: Path, folder: Path, files: dict[str, str], fill: Callable[[Path], None]) -> Path:
    """Write ``files`` (relative path -> text) and whatever ``fill`` adds (charts/) into ``folder``, swapped in whole."""
    parent = output_folder(stack_root, folder.parent, COMMAND)
    final = parent / folder.name
    with locked(parent):
        clean_leftovers(parent)
        check_replaceable(final, COMMAND)
        staging = new_staging(parent, folder.name)
        try:
            try:
                for relative, text in sorted(files.items()):
                    path = staging / relative
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_text(text, encoding="utf-8")
                fill(staging)
            except OSError as exc:
                failed = Path(os.fsdecode(exc.filename)).absolute() if exc.filename else staging
                shown = final / failed.relative_to(staging) if is_within(failed, staging) else failed
                raise os_error(exc, "write", shown, writing=True, elsewhere="--out DIR") from None
            swap(staging, final)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
    return final
