"""``init``: a working starting stack from a preset, one per write-up scenario.

Presets ship inside the package (``meshcharts/presets/<name>/``): a stack file, its values layers and
any files they name. ``init`` copies one into a new folder and edits the stack file with ruamel.yaml
so the comments that explain each choice survive: the stack ``name`` becomes the folder's name, and
``--addons-source`` points istio-addons components at the user's Istio release.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import unicodedata
from contextlib import suppress
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from ruamel.yaml import YAML

from meshcharts.components import catalog, external_catalog
from meshcharts.components.istio_addons import init_note
from meshcharts.core.diagnostics import ConfigError, Diagnostic, Location
from meshcharts.core.fs import (
    display_path,
    is_within,
    os_errors,
    refusal,
    require_folder_path,
    resolved,
)
from meshcharts.core.model import Stack
from meshcharts.core.suggest import did_you_mean
from meshcharts.load.local_charts import local_chart_problems
from meshcharts.load.stack import STACK_FILE, load_stack

PRESET_SUMMARIES = {
    "rancher": "seed 000: Rancher's Kiali + CRD chart, rancher-tracing, rancher-monitoring as external Prometheus/Grafana, two clusters",
    "kube-prometheus": "seed 001: kube-prometheus-stack 45.1.1 from a local .tgz, Istio's addons as a chart, NodePorts",
    "istio-tracing": "seed 003: Kiali + Prometheus + Jaeger, istiod's trace address and sampling",
    "existing-monitoring": "seed 004: Prometheus and Grafana already running elsewhere; scrape jobs, dashboards, Istio Gateway",
}


@dataclass(frozen=True)
class InitResult:
    directory: Path
    preset: str
    files: list[str]
    notes: list[str]


def presets_dir() -> Path:
    return Path(str(resources.files("meshcharts") / "presets"))


def preset_names() -> list[str]:
    return sorted(path.name for path in presets_dir().iterdir() if (path / STACK_FILE).is_file())


def init_stack(directory: Path, preset: str = "rancher", *, addons_source: Path | None = None, force: bool = False) -> InitResult:
    """Write preset ``preset`` into ``directory`` (created if missing).

    Refused, before anything is written: a ``directory`` that is (or lies under) a file, preset files
    already there unless ``force``, folders in the way or linked outside ``directory``, and a stack
    file that would fail its own checks.
    """
    names = preset_names()
    if preset not in names:
        raise ConfigError(
            Diagnostic(message=f'no preset "{preset}"; presets: {", ".join(names)}', rule="init.unknown-preset", hint=did_you_mean(preset, names))
        )
    require_folder_path(Path(os.path.abspath(directory)), "choose a folder path for init")
    target = resolved(directory)
    source = presets_dir() / preset
    files = sorted(str(path.relative_to(source)) for path in source.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    existing = _existing_files(directory, target, files)
    if existing and not force:
        listed = ", ".join(existing)
        raise ConfigError(
            Diagnostic(
                message=f"would overwrite {len(existing)} file{'s' if len(existing) > 1 else ''} already there ({listed}); pass --force to overwrite "
                + ("them" if len(existing) > 1 else "it"),
                rule="init.exists",
                location=Location(display_path(directory)),
            )
        )
    created = not target.exists()
    with os_errors("create the folder", directory, writing=True):
        target.mkdir(parents=True, exist_ok=True)
    try:
        with os_errors("write", directory, writing=True):
            notes = _stage_and_copy(source, target, files, addons_source)
    except BaseException:
        if created:
            with suppress(OSError):  # only if still empty: nothing of the user's is ever removed
                target.rmdir()
        raise
    return InitResult(target, preset, files, notes)


def _existing_files(directory: Path, target: Path, files: list[str]) -> list[str]:
    """The preset's files already in ``target`` (--force overwrites those); refuse what --force cannot fix.

    A folder where a file goes, a file where a folder goes, or a folder that is a link leading out of
    ``target`` (init would write through it) is refused, with or without --force.
    """
    existing: list[str] = []
    for relative in files:
        path = target / relative
        with os_errors("read", path):
            for parent in reversed(Path(relative).parents[:-1]):
                _refuse_blocked_folder(directory, target, target / parent)
            if path.is_dir():
                raise refusal(path, "is a folder where init writes a file; move it away", "init.blocked")
            if os.path.lexists(path):
                existing.append(relative)
    return existing


def _refuse_blocked_folder(directory: Path, target: Path, folder: Path) -> None:
    if folder.is_symlink() and not is_within(resolved(folder), target):
        raise refusal(folder, f"is a link to a folder outside {display_path(directory)}; init writes only inside the folder it is given: remove the link", "init.blocked")
    if os.path.lexists(folder) and not folder.is_dir():
        raise refusal(folder, "is a file where init writes a folder; move it away", "init.blocked")


def _stage_and_copy(source: Path, target: Path, files: list[str], addons_source: Path | None) -> list[str]:
    """Build the stack aside and check it as ``validate`` would read it, then move files in.

    An error (a stack its own schema rejects, a full disk) leaves ``target`` as it was.
    """
    with tempfile.TemporaryDirectory(dir=target, prefix=".meshcharts-init.") as staging_name:
        staging = Path(staging_name)
        for relative in files:
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / relative, staging / relative)
        notes = _edit_stack_file(staging / STACK_FILE, target, addons_source)
        stack = _checked_stack(staging / STACK_FILE, target)
        notes += [f"component {d.component}: {d.path}: {d.message}" for d in local_chart_problems(stack)]
        for relative in files:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target / relative)
    return notes


def _checked_stack(staged: Path, target: Path) -> Stack:
    """The staged stack file loaded as validate loads it, errors shown at the file init would write."""
    shown = display_path(target / STACK_FILE)
    try:
        stack = load_stack(staged, catalog(), external_catalog())
    except ConfigError as error:
        raise ConfigError(
            [replace(d, location=Location(shown, d.location.line, d.location.column) if d.location else None) for d in error.diagnostics]
        ) from None
    return replace(stack, path=target / STACK_FILE)


def _edit_stack_file(path: Path, target: Path, addons_source: Path | None) -> list[str]:
    yaml = YAML()  # round-trip: keeps the preset's comments and key order
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap the preset's lines
    document = yaml.load(path.read_text(encoding="utf-8"))
    document["name"] = _stack_name(target.name) or document["name"]
    notes: list[str] = []
    for name, component in document["components"].items():
        if component.get("type") != "istio-addons":
            continue
        if addons_source is not None:
            component["source"] = _relative_to(addons_source.resolve(), target)
        else:
            notes.append(init_note(name, str(component["version"]), str(component["source"]), target))
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return notes


def _stack_name(folder: str) -> str:
    """The folder name as a stack name (ASCII lowercase letters, digits and dashes, as the stack schema
    wants: ``Über`` becomes ``uber``), or "" if nothing is left."""
    ascii_only = unicodedata.normalize("NFKD", folder).encode("ascii", "ignore").decode("ascii")
    cleaned = "".join(char if char.isalnum() else "-" for char in ascii_only.lower()).strip("-")
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    return cleaned[:63].strip("-")


def _relative_to(path: Path, base: Path) -> str:
    """Inside the stack folder: relative (the stack can move); elsewhere: absolute (clearer than ../../..)."""
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
