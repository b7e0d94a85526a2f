"""Which values files exist, which composition each belongs to, and which ones belong to none.

Layers, lower first (DESIGN.md): type defaults and wired values, then ``values/<component>.yaml``,
``values/env/<env>/<component>.yaml``, ``values/clusters/<cluster>/<component>.yaml``. A file whose
folder or name matches no declared cluster, env or component would be silently ignored by a naive
tool (``values/clusters/eats/kiali.yaml``); here it is an error with a suggestion.

Links are followed only while they stay inside the stack folder: a values file or layer folder that
is a link to a place outside the stack is refused (one line, exit 2), never read, so a checkout cannot
make meshcharts read (and render copy) files from elsewhere on the machine. So are folders that cannot
be listed and folders where a values file is expected: file-system errors stop the command (exit 2).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from meshcharts.core.diagnostics import (
    ConfigError,
    Diagnostic,
    Location,
    MeshchartsError,
)
from meshcharts.core.fs import display_path, is_within, os_errors
from meshcharts.core.model import Stack
from meshcharts.core.suggest import did_you_mean
from meshcharts.load.yamlfiles import LoadedYAML, load_file

VALUES_DIR = "values"
YAML_SUFFIXES = (".yaml", ".yml")
LAYER_ORDER = ("values", "env", "cluster")


@dataclass(frozen=True)
class LayerFile:
    """One values file and the layer it forms."""

    layer: str  # "values" | "env" | "cluster"
    component: str
    path: Path
    display: str
    env: str | None = None
    cluster: str | None = None

    @property
    def rank(self) -> int:
        return LAYER_ORDER.index(self.layer)


@dataclass
class LayerIndex:
    """Every values file of a stack, found once; files parsed on first use and cached."""

    stack: Stack
    files: list[LayerFile] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)
    refused: list[Diagnostic] = field(default_factory=list)  # file-system problems: raised, exit 2
    _cache: dict[Path, LoadedYAML | MeshchartsError] = field(default_factory=dict)
    _places: tuple[int, dict[tuple[str, str, str | None], list[LayerFile]]] | None = field(default=None, init=False, repr=False, compare=False)

    def for_composition(self, cluster: str, component: str) -> list[LayerFile]:
        """The files of one (cluster, component), lowest layer first.

        Looked up by place, not by scanning every file: with a file per cluster, a scan per
        composition made 1,000 clusters a million steps.
        """
        env = self.stack.clusters[cluster].env
        places = self._by_place()
        chosen = places.get((component, "values", None), []) + places.get((component, "cluster", cluster), [])
        if env is not None:
            chosen += places.get((component, "env", env), [])
        return sorted(chosen, key=lambda layer: layer.rank)

    def _by_place(self) -> dict[tuple[str, str, str | None], list[LayerFile]]:
        """``files`` by (component, layer, env or cluster); rebuilt when ``files`` changes length."""
        if self._places is None or self._places[0] != len(self.files):
            places: dict[tuple[str, str, str | None], list[LayerFile]] = {}
            for layer in self.files:
                places.setdefault((layer.component, layer.layer, layer.env or layer.cluster), []).append(layer)
            self._places = (len(self.files), places)
        return self._places[1]

    def load(self, layer: LayerFile) -> LoadedYAML:
        """Parse a layer file once; a file that fails fails the same way for every composition."""
        cached = self._cache.get(layer.path)
        if cached is None:
            try:
                cached = load_file(layer.path, layer.display)
            except MeshchartsError as error:
                cached = error
            self._cache[layer.path] = cached
        if isinstance(cached, MeshchartsError):
            raise cached
        return cached

    def compositions_of(self, paths: list[Path]) -> tuple[set[tuple[str, str]], list[Path]]:
        """The (cluster, component) pairs the given files take part in, and the files that are no layer."""
        wanted = {path.resolve() for path in paths}
        pairs: set[tuple[str, str]] = set()
        matched: set[Path] = set()
        for layer in self.files:
            resolved = layer.path.resolve()
            if resolved in wanted:
                matched.add(resolved)
                installed = self.stack.components[layer.component].clusters
                if layer.layer == "cluster":  # the one cluster it names (a file per cluster: no scan of all)
                    clusters = [layer.cluster] if layer.cluster in installed else []
                else:
                    clusters = [c for c in installed if layer.layer == "values" or self.stack.clusters[c].env == layer.env]
                pairs.update((cluster, layer.component) for cluster in clusters)
        return pairs, [path for path in paths if path.resolve() not in matched]


def index_layers(stack: Stack) -> LayerIndex:
    """Find the values files of a stack and report those that fit no declared composition."""
    index = LayerIndex(stack)
    root = stack.root / VALUES_DIR
    with os_errors("read"):  # a stat refused inside a folder that can be listed but not entered
        if _inside(index, root) and root.is_dir():
            _scan_values(index, root)
    if index.refused:
        raise ConfigError(index.refused)
    _refuse_twins(index)
    return index


def _scan_values(index: LayerIndex, root: Path) -> None:
    stack = index.stack
    for entry in _entries(index, root):
        if entry.is_dir() and entry.suffix in YAML_SUFFIXES:
            index.refused.append(_not_a_file(entry))
        elif entry.is_dir():
            if entry.name == "env":
                _scan_named(index, entry, "env")
            elif entry.name == "clusters":
                _scan_named(index, entry, "cluster")
            elif _has_yaml(entry):
                index.problems.append(
                    _stray(stack, entry, 'values/ holds component files, "env/" and "clusters/" only', "layers.unknown-folder")
                )
        elif entry.suffix in YAML_SUFFIXES:
            _add(index, entry, "values")


def _entries(index: LayerIndex, folder: Path) -> list[Path]:
    """A folder's entries, sorted, without the links that lead out of the stack (those are refused)."""
    with os_errors("read the folder", folder):
        listed = sorted(folder.iterdir())
    return [entry for entry in listed if _inside(index, entry)]


def _inside(index: LayerIndex, entry: Path) -> bool:
    """Whether ``entry`` may be read: not a link, or a link that resolves inside the stack folder."""
    with os_errors("read", entry):
        if not entry.is_symlink():
            return True
    try:
        target = entry.resolve()
    except (OSError, RuntimeError):  # a link loop: reading the file says so, in one line
        return True
    if is_within(target, index.stack.root):
        return True
    kind = "folder" if os.path.isdir(target) else "file"
    index.refused.append(
        Diagnostic(
            message=f"is a link to a {kind} outside the stack folder ({target}); meshcharts reads values only inside the stack: "
            "copy it in, or link to a place inside",
            rule="layers.outside-stack",
            location=Location(display_path(entry)),
        )
    )
    return False


def _not_a_file(path: Path) -> Diagnostic:
    return Diagnostic(message="is not a regular file; a values file must be a plain YAML file", rule="yaml.not-a-file", location=Location(display_path(path)))


def _scan_named(index: LayerIndex, folder: Path, layer: str) -> None:
    stack = index.stack
    if layer == "env":
        known = {cluster.env for cluster in stack.clusters.values() if cluster.env}
        noun = "env"
    else:
        known = set(stack.clusters)
        noun = "cluster"
    for entry in _entries(index, folder):
        if not entry.is_dir():
            if entry.suffix in YAML_SUFFIXES:
                index.problems.append(
                    _stray(stack, entry, f"values/{folder.name}/ holds one folder per {noun}", "layers.misplaced-file")
                )
            continue
        if entry.name not in known:
            if _has_yaml(entry):
                what = "no cluster uses env" if layer == "env" else "the stack declares no cluster"
                index.problems.append(
                    _stray(stack, entry, f'{what} "{entry.name}", so these values would be ignored', f"layers.unknown-{noun}", did_you_mean(entry.name, known))
                )
            continue
        for file in _entries(index, entry):
            if file.suffix in YAML_SUFFIXES and file.is_dir():
                index.refused.append(_not_a_file(file))
            elif file.suffix in YAML_SUFFIXES:
                _add(index, file, layer, env=entry.name if layer == "env" else None, cluster=entry.name if layer == "cluster" else None)


def _add(index: LayerIndex, path: Path, layer: str, *, env: str | None = None, cluster: str | None = None) -> None:
    stack = index.stack
    component = path.stem
    if component not in stack.components:
        index.problems.append(
            _stray(stack, path, f'the stack declares no component "{component}", so this file would be ignored', "layers.unknown-component", did_you_mean(component, stack.components))
        )
        return
    if cluster is not None and cluster not in stack.components[component].clusters:
        index.problems.append(
            _stray(stack, path, f'component "{component}" is not installed on cluster "{cluster}" (see its clusters: list)', "layers.component-not-on-cluster")
        )
        return
    index.files.append(LayerFile(layer, component, path, display_path(path), env=env, cluster=cluster))


def _refuse_twins(index: LayerIndex) -> None:
    seen: dict[tuple[str, str | None, str | None, str], LayerFile] = {}
    for layer in list(index.files):
        key = (layer.layer, layer.env, layer.cluster, layer.component)
        if key in seen:
            index.problems.append(
                Diagnostic(
                    message=f"both {seen[key].display} and this file set the same layer; keep one",
                    rule="layers.duplicate-file",
                    location=Location(layer.display),
                    component=layer.component,
                )
            )
            index.files.remove(layer)
        else:
            seen[key] = layer


def _has_yaml(folder: Path) -> bool:
    return any(path.suffix in YAML_SUFFIXES for path in folder.rglob("*") if not path.is_dir())


def _stray(stack: Stack, path: Path, message: str, rule: str, hint: str | None = None) -> Diagnostic:
    return Diagnostic(message=message, rule=rule, location=Location(display_path(path)), hint=hint)
