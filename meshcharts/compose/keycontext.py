"""What the schema checker needs to say where an unknown key belongs (another chart line, another type).

Built once per (type, schema line) from the catalog, plus the stack's own components by type, so an
unknown key can read "X is a kiali-server key; put it in the values of component kiali".
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

from meshcharts.components import catalog
from meshcharts.core.model import SchemaLine, Stack
from meshcharts.schema.keyindex import KeyContext


def key_context(stack: Stack, type_name: str, line: SchemaLine) -> KeyContext:
    """The context for a composition of ``type_name`` validated against ``line``, in ``stack``."""
    return dataclasses.replace(_type_context(type_name, line), components=components_by_type(stack))


def components_by_type(stack: Stack) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for component in stack.components.values():
        found[component.type.name] = found.get(component.type.name, ()) + (component.name,)
    return found


@lru_cache(maxsize=None)
def _type_context(type_name: str, line: SchemaLine) -> KeyContext:
    """The part of a KeyContext that depends only on the type and its schema line: its other lines, the other types."""
    own = catalog().get(type_name)
    siblings = tuple((other.schema, other.label) for other in (own.schema_lines if own else ()) if other.schema != line.schema)
    others = tuple((name, tuple(other.schema for other in kind.schema_lines)) for name, kind in catalog().items() if name != type_name)
    return KeyContext(type_name, line.label, siblings, others)
