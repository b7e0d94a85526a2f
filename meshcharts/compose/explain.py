"""``explain``: each composed value with the layer and file:line that set it, and what it overrode."""

from __future__ import annotations

import json
import re
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


MAX_KEY_PATH = 1000  # characters; a longer path names nothing a values file can hold
_TOKEN = re.compile(r'(?P<key>[^.\[\]"]+)|\["(?P<quoted>[^"]*)"\]|\[(?P<index>[0-9]+)\]|(?P<dot>\.)')


def parse_key_path(text: str) -> PathT:
    """``a.b.c`` -> ("a", "b", "c"); ``a.b[0]`` -> ("a", "b", 0); ``a["b.c"]`` for a key with dots.

    Anything else (``a..b``, ``[0]``, ``a.[x]``, ``a[x]``, an unclosed ``[``) is refused with what is
    wrong, rather than read as some other path: ``explain`` must never show a value the user did not name.
    """
    if not text:
        raise _bad_path(text, "the key path is empty; leave it out to see every value")
    if len(text) > MAX_KEY_PATH:
        raise _bad_path(text[:40] + "...", f"the key path is {len(text)} characters long; no values key is")
    parts: list[str | int] = []
    previous = "dot"  # a key is due at the start and after every dot
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _bad_path(text, _unexpected(text, position))
        kind = match.lastgroup
        where = f"at character {position + 1}"
        if kind == "dot" and previous == "dot":
            raise _bad_path(text, f"a key is missing {where}" if parts else "the key path starts with a dot")
        if kind == "key" and previous != "dot":
            raise _bad_path(text, f"a dot is missing before {match['key']!r} {where}")
        if kind == "index" and previous == "dot":
            raise _bad_path(text, "the values are a mapping: the key path starts with a key, not [index]" if not parts else f"a list index follows its key directly (a.b[0], not a.b.[0]) {where}")
        if kind != "dot":
            value = match[str(kind)]
            parts.append(int(value) if kind == "index" else value)
        previous = str(kind)
        position = match.end()
    if previous == "dot":
        raise _bad_path(text, "the key path ends with a dot")
    return tuple(parts)


def _unexpected(text: str, position: int) -> str:
    char = text[position]
    if char == "]":
        return f"a ] without its [ at character {position + 1}"
    if char == '"':
        return f'a quote at character {position + 1}; quote a key with dots as ["a.b"]'
    return f'the [ at character {position + 1} takes a list index such as [0], or a quoted key such as ["a.b"]'


def _bad_path(text: str, reason: str) -> ConfigError:
    return ConfigError(Diagnostic(message=f"{reason}", rule="explain.bad-path", path=text, hint='write keys with dots between them, list items as [0]: deployment.accessible_namespaces[0]'))


def explain(composition: Composition, key_path: str | None = None) -> list[ExplainedValue]:
    """The leaves under ``key_path`` (or all), in the order they appear in the values."""
    path = parse_key_path(key_path) if key_path is not None else ()
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
        lines.append(f"{item.path} = {json.dumps(item.value, default=str, ensure_ascii=False)}")
        lines.append(f"    source:   {item.origin.describe()}")
        for earlier in reversed(item.overridden):
            lines.append(f"    overrode: {earlier.describe()}")
    return "\n".join(lines)
