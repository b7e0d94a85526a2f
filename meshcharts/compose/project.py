"""A stack and its values files, and the compositions made from them: the object every command starts from.

Composing happens in two passes per cluster: first the user's layers alone, so the wiring can see what
the user set; then again with the values the wiring derives as layer 1 (below every file), so a user
value always wins and ``explain`` can say "derived from component X" for the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from meshcharts.components import catalog, external_catalog
from meshcharts.compose.keycontext import key_context
from meshcharts.compose.merge import (
    Merger,
    Source,
    deleted_keys,
    node_at,
    to_values,
    tree_from_values,
)
from meshcharts.core.collector import collector_paused
from meshcharts.core.diagnostics import (
    ConfigError,
    Diagnostic,
    Location,
    MeshchartsError,
)
from meshcharts.core.model import (
    Branch,
    Cluster,
    Component,
    DerivedValue,
    EnvRef,
    Leaf,
    Origin,
    PathT,
    Stack,
)
from meshcharts.load.layers import LayerFile, LayerIndex, index_layers
from meshcharts.load.stack import load_stack
from meshcharts.schema.checker import Judgement, accepted, judge, judge_deletions
from meshcharts.schema.keyindex import KeyContext
from meshcharts.wiring.engine import derive_cluster

USER_LAYERS = ("values", "env", "cluster")


@dataclass
class Composition:
    """The composed values of one component on one cluster, with where each value came from."""

    cluster: Cluster
    component: Component
    tree: Branch
    layers: list[LayerFile]
    problems: list[Diagnostic] = field(default_factory=list)
    derived: list[DerivedValue] = field(default_factory=list)
    broken: bool = False  # a layer file could not be read: schema and wiring checks would mislead
    key_context: KeyContext | None = field(default=None, repr=False, compare=False)  # names where an unknown key belongs
    _judged: tuple[Judgement, dict[str, Any]] | None = field(default=None, repr=False, compare=False)
    _checked_values: tuple[Branch, dict[str, Any]] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.cluster.name, self.component.name)

    @property
    def label(self) -> str:
        return f"{self.cluster.name}/{self.component.name}"

    def values(self, *, secrets: str = "keep", drop_nulls: bool = False) -> dict[str, Any]:
        """The final values. ``secrets="placeholder"`` for anything shown or written."""
        result = to_values(self.tree, secrets=secrets, drop_nulls=drop_nulls)
        assert isinstance(result, dict)
        return result

    def validation_values(self) -> dict[str, Any]:
        """What the schema sees: nulls gone (they only delete), secrets as placeholder strings.

        Built once per tree and shared by all its readers (the schema, the key rules, each wiring
        step: five per composition), so treat it as read-only; a composition given a new ``tree``
        builds them anew.
        """
        cached = self._checked_values
        if cached is None or cached[0] is not self.tree:
            cached = (self.tree, self.values(secrets="placeholder", drop_nulls=True))
            self._checked_values = cached
        return cached[1]

    def schema_findings(self) -> list[Diagnostic]:
        """The schema's findings on :meth:`validation_values` (run once per composition)."""
        return self._judge()[0].diagnostics

    def accepted_values(self) -> dict[str, Any]:
        """What the wiring and the component types read: the validation values without any value the
        schema rejected (a port that is ``abc``, a ``deployment`` that is a list), so nothing downstream
        meets a value of the wrong type; the schema reports those at their file:line."""
        return self._judge()[1]

    def _judge(self) -> tuple[Judgement, dict[str, Any]]:
        if self._judged is None:
            component = self.component
            values = self.validation_values()
            schema = component.type.choose_schema(component.version).line.schema
            cluster, name, context = self.cluster.name, component.name, self.key_context
            verdict = judge(schema, values, self.locate, cluster=cluster, component=name, context=context)
            typos = judge_deletions(schema, deleted_keys(self.tree), self.locate, cluster=cluster, component=name, context=context)
            if typos:
                verdict = Judgement([*verdict.diagnostics, *typos], verdict.rejected)
            self._judged = (verdict, accepted(values, verdict.rejected))
        return self._judged

    def node(self, path: PathT) -> Branch | Leaf | None:
        return node_at(self.tree, path)

    def origin(self, path: PathT) -> Origin | None:
        node = self.node(path)
        return node.origin if node is not None else None

    def get(self, path: PathT, default: Any = None) -> Any:
        """The accepted value at ``path`` (secrets as placeholders); ``default`` where unset, null or rejected."""
        value: Any = self.accepted_values()
        for part in path:
            if isinstance(value, dict) and isinstance(part, str) and part in value:
                value = value[part]
            elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
                value = value[part]
            else:
                return default
        return value

    def is_user_set(self, path: PathT) -> bool:
        """Whether a layer file (not defaults, not the wiring) set this value or anything below it."""
        node = self.node(path)
        if node is None:
            return False
        if isinstance(node, Leaf):
            return node.origin.layer in USER_LAYERS
        return node.origin.layer in USER_LAYERS or any(self.is_user_set(path + (key,)) for key in node.children)

    def locate(self, path: PathT, is_key: bool = False) -> Location | None:
        """The file position to blame for a path: the deepest node that exists, from a file if any."""
        node: Branch | Leaf | None = self.tree
        best: Location | None = None
        for index, part in enumerate(path):
            if isinstance(node, Branch) and isinstance(part, str) and part in node.children:
                node = node.children[part]
                last = index == len(path) - 1
                origin = node.origin
                candidate = origin.key_location if (last and is_key and origin.key_location) else origin.location
                best = candidate or best
            elif isinstance(node, Leaf) and isinstance(part, int) and node.item_origins and part < len(node.item_origins):
                best = node.item_origins[part].location or best
                break
            else:
                break
        if best is None and isinstance(node, Branch):
            best = _first_location(node)
        return best or self.component.location

    def secrets(self) -> list[tuple[str, EnvRef]]:
        """Every !env placeholder in the values, with its dotted path (the values stay placeholders)."""
        found: list[tuple[str, EnvRef]] = []
        _collect_secrets(self.values(), "", found)
        return found


def _first_location(branch: Branch) -> Location | None:
    for child in branch.children.values():
        if child.origin.location:
            return child.origin.location
        if isinstance(child, Branch):
            found = _first_location(child)
            if found:
                return found
    return None


def _collect_secrets(value: Any, prefix: str, found: list[tuple[str, EnvRef]]) -> None:
    if isinstance(value, EnvRef):
        found.append((prefix, value))
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect_secrets(item, f"{prefix}.{key}" if prefix else key, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _collect_secrets(item, f"{prefix}[{index}]", found)


@dataclass
class Project:
    """A loaded stack with its layer files; composes (and caches) compositions on demand."""

    stack: Stack
    layers: LayerIndex
    _cache: dict[tuple[str, str], Composition] = field(default_factory=dict)

    @classmethod
    def open(cls, path: Path | str | None = None) -> Project:
        stack = load_stack(path, catalog(), external_catalog())
        return cls(stack, index_layers(stack))

    def pairs(self, cluster: str | None = None) -> list[tuple[str, str]]:
        """Every (cluster, component) the stack installs, in stack order."""
        clusters = list(self.stack.clusters) if cluster is None else [cluster] if cluster in self.stack.clusters else []
        return [(cluster_name, component.name) for cluster_name in clusters for component in self.stack.components_on(cluster_name)]

    def compose(self, cluster: str, component: str) -> Composition:
        """The final composition (with wired values) of one component on one cluster."""
        key = (cluster, component)
        if key not in self._cache:
            self._compose_cluster(cluster)
        return self._cache[key]

    def compose_all(self, cluster: str | None = None) -> list[Composition]:
        return [self.compose(*pair) for pair in self.pairs(cluster)]

    def compose_raw(self, cluster: str, component: str, derived: list[DerivedValue] | None = None) -> Composition:
        """One composition from defaults, the given derived values and the layer files."""
        cluster_obj = self.stack.clusters[cluster]
        component_obj = self.stack.components[component]
        component_type = component_obj.type
        tree = tree_from_values(
            component_type.default_values(component_obj.version),
            Origin("defaults", detail=f"meshcharts defaults for {component_type.name}"),
        )
        merger = Merger(cluster_obj.vars, cluster, component)
        for value in derived or []:
            tree = merger.merge(tree, _nest(value.path, value.value), Source("derived", value.reason))
        files = self.layers.for_composition(cluster, component)
        problems: list[Diagnostic] = []
        for layer in files:
            try:
                loaded = self.layers.load(layer)
            except ConfigError:  # the file system said no (unreadable, not a file): stop, exit 2
                raise
            except MeshchartsError as error:  # reported once per file: no cluster/component context
                problems.extend(error.diagnostics)
                continue
            if loaded.content is None:
                continue
            if not isinstance(loaded.content, dict):
                where = getattr(loaded.content, "location", Location(layer.display, 1, 1))
                problems.append(Diagnostic(message="a values file must be a mapping of keys, not a list or a scalar", rule="layers.shape", location=where))
                continue
            tree = merger.merge(tree, loaded.content, Source(layer.layer))
        broken = bool(problems)
        context = key_context(self.stack, component_type.name, component_type.choose_schema(component_obj.version).line)
        return Composition(cluster_obj, component_obj, tree, files, problems + merger.problems, list(derived or []), broken, key_context=context)

    def _compose_cluster(self, cluster: str) -> None:
        with collector_paused():  # provenance trees are kept and hold no cycles
            self._compose_cluster_passes(cluster)

    def _compose_cluster_passes(self, cluster: str) -> None:
        first_pass = {component.name: self.compose_raw(cluster, component.name) for component in self.stack.components_on(cluster)}
        derived = derive_cluster(self.stack, self.stack.clusters[cluster], first_pass)
        for name, composition in first_pass.items():
            values = derived.get(name)
            self._cache[(cluster, name)] = self.compose_raw(cluster, name, values) if values else composition


def _nest(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    nested: Any = value
    for part in reversed(path):
        nested = {part: nested}
    return nested
