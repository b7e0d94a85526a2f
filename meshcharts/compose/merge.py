"""Composing the values of one (cluster, component): layers merged the Helm way, with provenance.

Merge rules (DESIGN.md): maps merge, lists and scalars replace, ``null`` deletes, ``!append`` extends
the list below, ``!var`` reads the cluster's vars, ``!env`` stays a secret placeholder. The merge builds
a tree of :class:`Branch` and :class:`Leaf` nodes so every value keeps the :class:`Origin` that set it
and the origins it overrode; ``explain`` reads that tree, and schema errors use it to point at the
layer file a person must edit.

``null`` is kept in the composed values (not just dropped): Helm deletes a chart default only when the
values it is given say ``null`` for that key.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from meshcharts.core.diagnostics import Diagnostic, Location
from meshcharts.core.model import (
    Branch,
    Leaf,
    Node,
    Origin,
    PathT,
    dotted,
)
from meshcharts.core.suggest import did_you_mean
from meshcharts.load.yamlio import Append, EnvRef, VarRef, YList, YMap


@dataclass
class Source:
    """One layer being merged: how to find the origin of each value in it."""

    layer: str
    detail: str = ""
    fixed: Origin | None = None  # every value from one place (a !var's value is set where the tag is)

    def origin_of_key(self, mapping: Any, key: str) -> Origin:
        if self.fixed is not None:
            return self.fixed
        if isinstance(mapping, YMap):
            return Origin(self.layer, mapping.value_locations.get(key), mapping.key_locations.get(key), self.detail)
        return Origin(self.layer, detail=self.detail)

    def origin_of_item(self, items: Any, index: int) -> Origin:
        if self.fixed is not None:
            return self.fixed
        if isinstance(items, YList):
            return Origin(self.layer, items.item_locations[index], detail=self.detail)
        return Origin(self.layer, detail=self.detail)

    def origin_of(self, value: Any) -> Origin:
        if self.fixed is not None:
            return self.fixed
        return Origin(self.layer, getattr(value, "location", None), detail=self.detail)


_PLAIN_SCALARS = frozenset({str, int, float, bool})  # what YAML scalars load as; never a tag to resolve


class Merger:
    """Merges layers onto a tree for one cluster; collects problems instead of stopping at the first."""

    def __init__(self, variables: dict[str, Any], cluster: str, component: str) -> None:
        self.variables = variables  # the cluster's vars, for !var
        self.cluster = cluster  # names, for the diagnostics only
        self.component = component
        self.problems: list[Diagnostic] = []

    def merge(self, tree: Branch, overlay: Any, source: Source) -> Branch:
        if not isinstance(overlay, dict):
            return tree
        result = self._merge_node(tree, overlay, source, source.origin_of(overlay), ())
        assert isinstance(result, Branch)
        return result

    def _merge_node(self, current: Node | None, overlay: Any, source: Source, origin: Origin, path: PathT) -> Node:
        if isinstance(overlay, VarRef):
            var_origin = Origin(source.layer, overlay.location, origin.key_location, f"!var {overlay.name}")
            value = self._var(overlay, path)
            if value is None:
                return Leaf(None, var_origin, _replaced(current))
            return self._merge_node(current, value, Source(source.layer, fixed=var_origin), var_origin, path)
        if isinstance(overlay, dict):
            if isinstance(current, Branch):
                branch = current
                if origin.location is not None:  # errors about this map point at the last file that touched it
                    branch.overridden.append(branch.origin)
                    branch.origin = origin
            else:
                branch = Branch({}, origin, _replaced(current))
            children = branch.children
            for key, value in overlay.items():
                child_origin = source.origin_of_key(overlay, key)
                if value is None or type(value) in _PLAIN_SCALARS:  # most values: nothing to resolve
                    children[key] = Leaf(value, child_origin, _replaced(children.get(key)))
                else:
                    children[key] = self._merge_node(children.get(key), value, source, child_origin, path + (key,))
            return branch
        if isinstance(overlay, Append):
            return self._append(current, overlay, source, origin, path)
        if isinstance(overlay, list):
            values = [self._resolve(item, path + (index,)) for index, item in enumerate(overlay)]
            item_origins = [source.origin_of_item(overlay, index) for index in range(len(overlay))]
            return Leaf(values, origin, _replaced(current), item_origins)
        return Leaf(self._resolve(overlay, path), origin, _replaced(current))

    def _append(self, current: Node | None, overlay: Append, source: Source, origin: Origin, path: PathT) -> Leaf:
        base: list[Any] = []
        base_origins: list[Origin] = []
        if isinstance(current, Leaf) and isinstance(current.value, list):
            base = list(current.value)
            base_origins = list(current.item_origins or [current.origin] * len(base))
        elif current is not None and not (isinstance(current, Leaf) and current.value is None):
            self.problems.append(
                self._problem(overlay.location, path, "!append needs a list in a lower layer; here the lower layers set a map or a scalar", "compose.append")
            )
        added = [self._resolve(item, path + (len(base) + index,)) for index, item in enumerate(overlay.items)]
        origins = base_origins + [source.origin_of_item(overlay.items, index) for index in range(len(added))]
        overridden = list(current.overridden) + [current.origin] if isinstance(current, Leaf) else []
        return Leaf(base + added, Origin(origin.layer, overlay.location, origin.key_location, "!append"), overridden, origins)

    def _resolve(self, value: Any, path: PathT) -> Any:
        """Resolve !var inside plain values (lists of maps, say); !env stays a placeholder."""
        if isinstance(value, VarRef):
            return self._resolve(self._var(value, path), path)
        if isinstance(value, Append):
            self.problems.append(
                self._problem(value.location, path, "!append extends a list set by a lower layer; it cannot stand inside a list", "compose.append")
            )
            return [self._resolve(item, path) for item in value.items]
        if isinstance(value, dict):
            return {key: self._resolve(item, path + (key,)) for key, item in value.items()}
        if isinstance(value, list):
            return [self._resolve(item, path + (index,)) for index, item in enumerate(value)]
        return value

    def _var(self, ref: VarRef, path: PathT) -> Any:
        if ref.name in self.variables:
            return copy.deepcopy(self.variables[ref.name])
        known = ", ".join(sorted(self.variables)) or "none"
        self.problems.append(
            self._problem(
                ref.location,
                path,
                f'cluster "{self.cluster}" has no var "{ref.name}" (its vars: {known})',
                "compose.unknown-var",
                did_you_mean(ref.name, self.variables),
            )
        )
        return None

    def _problem(self, location: Location | None, path: PathT, message: str, rule: str, hint: str | None = None) -> Diagnostic:
        return Diagnostic(message=message, rule=rule, location=location, cluster=self.cluster, component=self.component, path=dotted(path), hint=hint)


def _replaced(node: Node | None) -> list[Origin]:
    if node is None:
        return []
    return [*node.overridden, node.origin]


def tree_from_values(values: dict[str, Any], origin: Origin) -> Branch:
    """A plain dict as a provenance tree, every value from the same origin (type defaults)."""
    merger_source = Source(origin.layer, origin.detail)
    root = Branch({}, origin)
    for key, value in values.items():
        root.children[key] = _plain_node(value, merger_source)
    return root


def _plain_node(value: Any, source: Source) -> Node:
    if isinstance(value, dict):
        return Branch({key: _plain_node(item, source) for key, item in value.items()}, source.origin_of(value))
    if isinstance(value, list):
        return Leaf(list(value), source.origin_of(value), item_origins=[source.origin_of(value)] * len(value))
    return Leaf(value, source.origin_of(value))


def node_at(tree: Branch, path: PathT) -> Node | None:
    node: Node | None = tree
    for part in path:
        if isinstance(node, Branch) and isinstance(part, str):
            node = node.children.get(part)
        else:
            return None
    return node


def deleted_keys(tree: Branch, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """The key paths a layer sets to ``null`` (Helm deletes the chart default there).

    Only map keys: a ``null`` inside a list is an item of the list, not a deletion.
    """
    found: list[tuple[str, ...]] = []
    for key, child in tree.children.items():
        if isinstance(child, Branch):
            found += deleted_keys(child, (*prefix, key))
        elif child.value is None:
            found.append((*prefix, key))
    return found


def to_values(node: Node, *, secrets: str = "keep", drop_nulls: bool = False) -> Any:
    """Plain values from the tree. ``secrets``: "keep" the EnvRef objects, or "placeholder" strings."""
    if isinstance(node, Branch):
        return {
            key: to_values(child, secrets=secrets, drop_nulls=drop_nulls)
            for key, child in node.children.items()
            if not (drop_nulls and isinstance(child, Leaf) and child.value is None)
        }
    return _plain_value(node.value, secrets, drop_nulls)


def _plain_value(value: Any, secrets: str, drop_nulls: bool) -> Any:
    if isinstance(value, EnvRef):
        return value if secrets == "keep" else value.placeholder
    if isinstance(value, dict):
        return {k: _plain_value(v, secrets, drop_nulls) for k, v in value.items() if not (drop_nulls and v is None)}
    if isinstance(value, list):
        return [_plain_value(item, secrets, drop_nulls) for item in value]
    return value
