"""``explain``: each composed value with the layer and file:line that set it, and what it overrode."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from meshcharts.compose.project import Composition
from meshcharts.core.diagnostics import ConfigError, Diagnostic
from meshcharts.core.model import Branch, EnvRef, Leaf, Origin, PathT, dotted
from meshcharts.core.suggest import did_you_mean


@dataclass(frozen=True)
class ExplainedValue:
    path: str
    value: Any  # secrets as placeholders, never in clear
    origin: Origin
    overridden: tuple[Origin, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "value": self.value,
            "origin": self.origin.as_json(),
            "overridden": [origin.as_json() for origin in self.overridden],
        }


def parse_key_path(text: str) -> PathT:
    """``a.b.c`` -> ("a", "b", "c"); ``a.b[0]`` -> ("a", "b", 0)."""
    parts: list[str | int] = []
    for segment in [s for s in text.split(".") if s]:
        name, _, rest = segment.partition("[")
        if name:
            parts.append(name)
        while rest:
            index, _, rest = rest.partition("]")
            parts.append(int(index)) if index.isdigit() else parts.append(index)
            rest = rest.lstrip("[")
    return tuple(parts)


def explain(composition: Composition, key_path: str | None = None) -> list[ExplainedValue]:
    """The leaves under ``key_path`` (or all), in the order they appear in the values."""
    path = parse_key_path(key_path) if key_path else ()
    node = composition.node(path) if path else composition.tree
    if node is None or (path and isinstance(path[-1], int)):
        node = _list_item(composition, path) if path and isinstance(path[-1], int) else None
        if node is None:
            raise ConfigError(_missing(composition, path, key_path or ""))
    found: list[ExplainedValue] = []
    _walk(node, path, found)
    return found


def _list_item(composition: Composition, path: PathT) -> Leaf | None:
    parent = composition.node(path[:-1])
    index = path[-1]
    if isinstance(parent, Leaf) and isinstance(parent.value, list) and isinstance(index, int) and index < len(parent.value):
        origin = parent.item_origins[index] if parent.item_origins else parent.origin
        return Leaf(parent.value[index], origin)
    return None


def _missing(composition: Composition, path: PathT, text: str) -> Diagnostic:
    parent = composition.node(path[:-1]) if path else None
    siblings = list(parent.children) if isinstance(parent, Branch) else []
    hint = did_you_mean(str(path[-1]), siblings) if path else None
    return Diagnostic(
        message=f'no value at "{text}" in the composed values',
        rule="explain.no-such-key",
        cluster=composition.cluster.name,
        component=composition.component.name,
        path=text,
        hint=hint,
    )


def _walk(node: Branch | Leaf, path: PathT, found: list[ExplainedValue]) -> None:
    if isinstance(node, Branch):
        if not node.children:
            found.append(ExplainedValue(dotted(path), {}, node.origin, tuple(node.overridden)))
        for key, child in node.children.items():
            _walk(child, path + (key,), found)
        return
    found.append(ExplainedValue(dotted(path), _shown(node.value), node.origin, tuple(node.overridden)))


def _shown(value: Any) -> Any:
    if isinstance(value, EnvRef):
        return value.placeholder
    if isinstance(value, dict):
        return {key: _shown(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shown(item) for item in value]
    return value


def format_explained(values: list[ExplainedValue]) -> str:
    lines: list[str] = []
    for item in values:
        lines.append(f"{item.path} = {json.dumps(item.value, default=str)}")
        lines.append(f"    source:   {item.origin.describe()}")
        for earlier in reversed(item.overridden):
            lines.append(f"    overrode: {earlier.describe()}")
    return "\n".join(lines)
