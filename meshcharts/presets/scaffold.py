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
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ruamel.yaml import YAML

from meshcharts.components.istio_addons import init_note
from meshcharts.core.diagnostics import ConfigError, Diagnostic, Location
from meshcharts.core.suggest import did_you_mean
from meshcharts.load.stack import STACK_FILE

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
    """Write preset ``preset`` into ``directory`` (created; refused if it already holds a stack)."""
    names = preset_names()
    if preset not in names:
        raise ConfigError(
            Diagnostic(message=f'no preset "{preset}"; presets: {", ".join(names)}', rule="init.unknown-preset", hint=did_you_mean(preset, names))
        )
    target = directory.resolve()
    if (target / STACK_FILE).exists() and not force:
        raise ConfigError(
            Diagnostic(message=f"{STACK_FILE} exists already; pass --force to overwrite the preset's files", rule="init.exists", location=Location(str(directory / STACK_FILE)))
        )
    if target.exists() and not target.is_dir():
        raise ConfigError(Diagnostic(message="is not a folder", rule="init.not-a-folder", location=Location(str(directory))))
    source = presets_dir() / preset
    files = sorted(str(path.relative_to(source)) for path in source.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    notes = _stage_and_copy(source, target, files, addons_source)
    return InitResult(target, preset, files, notes)


def _stage_and_copy(source: Path, target: Path, files: list[str], addons_source: Path | None) -> list[str]:
    """Build the stack aside, then move files in: an error leaves ``target`` as it was."""
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target, prefix=".meshcharts-init.") as staging_name:
        staging = Path(staging_name)
        for relative in files:
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / relative, staging / relative)
        notes = _edit_stack_file(staging / STACK_FILE, target, addons_source)
        for relative in files:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / relative, target / relative)
    return notes


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
    """The folder name as a stack name (lowercase letters, digits and dashes), or "" if nothing is left."""
    cleaned = "".join(char if char.isalnum() else "-" for char in folder.lower()).strip("-")
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    return cleaned[:63].strip("-")


def _relative_to(path: Path, base: Path) -> str:
    """Inside the stack folder: relative (the stack can move); elsewhere: absolute (clearer than ../../..)."""
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)
