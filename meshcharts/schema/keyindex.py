"""Where an unknown key belongs: an index of every key path in the packaged schemas.

The mistakes users report most are keys that exist, just not where they wrote them: kube-prometheus-stack's
``serviceMonitorSelectorNilUsesHelmValues`` at the top level instead of under ``prometheus.prometheusSpec``,
``storageClassName`` beside a claim's ``spec`` instead of inside it, a kiali-server 1.x key in 2.x values,
Kiali's ``external_services`` in the tracing values. Each is a silent no-op in Helm; "unknown key" alone
sends the user searching the chart's values.yaml. :func:`place_unknown_key` says where the key lives:

1. deeper under the same parent in the same schema (the common "one level too high"),
2. in the component type's other schema line (a key of the other chart version, or one it replaced),
3. in another component type's schema (values put into the wrong component's file),
4. elsewhere in the same schema, when that is at most a few places and the key is no likely typo.

Paths are patterns: ``*`` stands for any key of a map, ``[]`` for any list item. The index of a schema is
built on first use and cached for the process, so the clean pre-commit path (no unknown keys) never
builds it. A property may carry ``"x-replaces": ["old.dotted.path", ...]`` to record the key it replaced
in that chart line (a fact of the chart, stated where its schema is).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from meshcharts.core.suggest import closest
from meshcharts.schema.store import all_schemas, resolve_ref

Pattern = tuple[str, ...]
ANY_KEY = "*"
ANY_ITEM = "[]"
MAX_DEPTH = 40  # deeper than any chart's values; stops a recursive schema
MAX_PLACES = 3  # more homes than this and the key is too generic to suggest one
GENERIC = 10  # a key at this many paths across the charts (enabled: 185, image: 22) says little about its home


@dataclass(frozen=True)
class SchemaIndex:
    """Every key path one schema allows, by last key, and the keys its properties say they replaced."""

    paths: frozenset[Pattern]
    by_key: Mapping[str, tuple[Pattern, ...]]
    replaced: Mapping[Pattern, Pattern]  # old path -> the path that replaced it


@dataclass(frozen=True)
class KeyContext:
    """What the checker knows of the values it checks, to name the line or type a key belongs to."""

    type_name: str
    label: str  # the schema line in use, e.g. "kiali-server 2.x"
    siblings: tuple[tuple[str, str], ...] = ()  # (schema, label) of the type's other lines
    others: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (type name, its schemas) of the other types
    components: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # type name -> the stack's components


@dataclass(frozen=True)
class Placement:
    """A better finding for an unknown key: the rule, the message, the hint."""

    rule: str
    message: str
    hint: str


@lru_cache(maxsize=None)
def schema_index(name: str) -> SchemaIndex:
    """The index of one packaged schema (built once per process)."""
    paths: set[Pattern] = set()
    replaced: dict[Pattern, Pattern] = {}
    _walk(all_schemas().get(name, {}), name, (), paths, replaced, frozenset())
    by_key: dict[str, list[Pattern]] = {}
    for path in sorted(paths, key=lambda p: (len(p), p)):
        if path[-1] not in (ANY_KEY, ANY_ITEM):
            by_key.setdefault(path[-1], []).append(path)
    return SchemaIndex(frozenset(paths), {key: tuple(found) for key, found in by_key.items()}, replaced)


def _walk(node: Any, doc: str, prefix: Pattern, paths: set[Pattern], replaced: dict[Pattern, Pattern], seen: frozenset[tuple[str, str]]) -> None:
    if not isinstance(node, dict) or len(prefix) > MAX_DEPTH:
        return
    ref = node.get("$ref")
    if isinstance(ref, str) and (doc, ref) not in seen:
        target_doc, target = resolve_ref(ref, doc)
        _walk(target, target_doc, prefix, paths, replaced, seen | {(doc, ref)})
    for key, sub in (node.get("properties") or {}).items():
        path = prefix + (key,)
        paths.add(path)
        for old in (sub.get("x-replaces") or []) if isinstance(sub, dict) else []:
            replaced[tuple(str(old).split("."))] = path
        _walk(sub, doc, path, paths, replaced, seen)
    maps = [node.get("additionalProperties"), *(node.get("patternProperties") or {}).values()]
    for sub in maps:
        if isinstance(sub, dict):
            paths.add(prefix + (ANY_KEY,))
            _walk(sub, doc, prefix + (ANY_KEY,), paths, replaced, seen)
    items = [node.get("items"), *(node.get("prefixItems") or [])]
    for sub in items:
        _walk(sub, doc, prefix + (ANY_ITEM,), paths, replaced, seen)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for sub in node.get(keyword) or []:
            _walk(sub, doc, prefix, paths, replaced, seen)
    for keyword in ("then", "else"):
        _walk(node.get(keyword), doc, prefix, paths, replaced, seen)


def place_unknown_key(schema: str, key_path: Sequence[str | int], allowed: Sequence[str], context: KeyContext | None = None) -> Placement | None:
    """Where the unknown key at ``key_path`` belongs, or None when no schema knows it (a typo, say).

    ``allowed`` are the keys the schema allows beside it: a close one is a typo, which did-you-mean
    explains better than a home elsewhere. Keys found all over the charts (``enabled``, ``labels``,
    ``image``) are only placed where the evidence is strong: one home right below where they were written.
    """
    concrete = tuple(ANY_ITEM if isinstance(part, int) else str(part) for part in key_path)
    key, parent = concrete[-1], concrete[:-1]
    generic = generic_keys().get(key, 0) >= GENERIC
    # not the key's own path, nor one of its ancestors (prometheusSpec typed twice is no home for itself)
    homes = [path for path in schema_index(schema).by_key.get(key, ()) if not _matches(path, concrete[: len(path)])]
    below = [path for path in homes if len(path) > len(concrete) and _matches(path[: len(parent)], parent)]
    nearest = [path for path in below if len(path) == min(map(len, below))] if below else []
    if nearest and len(nearest) <= (1 if generic else MAX_PLACES) and (parent or not generic):
        return _misplaced(key, parent, nearest)
    placement = _other_version(schema, concrete, context) or (None if generic else _other_component(concrete, context))
    if placement is not None or generic:
        return placement
    typo = closest(key, allowed)
    if 0 < len(homes) <= MAX_PLACES and (typo is None or typo == key):
        return _misplaced(key, parent, sorted(homes, key=lambda path: (-_common(path, parent), len(path))))
    return None


@lru_cache(maxsize=1)
def generic_keys() -> Mapping[str, int]:
    """How many key paths of all packaged schemas end in each key: a measure of how generic it is."""
    counts: dict[str, int] = {}
    for name in all_schemas():
        for key, paths in schema_index(name).by_key.items():
            counts[key] = counts.get(key, 0) + len(paths)
    return counts


def _misplaced(key: str, parent: Pattern, homes: list[Pattern]) -> Placement:
    where = "at this level" if parent else "at the top level"
    return Placement(
        "schema.misplaced-key",
        f'unknown key "{key}" {where}',
        "did you mean " + " or ".join(_show(home, parent) for home in homes) + "?",
    )


def _other_version(schema: str, concrete: Pattern, context: KeyContext | None) -> Placement | None:
    if context is None:
        return None
    for sibling, label in context.siblings:
        if any(_matches(path, concrete) for path in schema_index(sibling).paths):
            message = f'"{concrete[-1]}" is a {label} key; {context.label} does not have it'
            hint = _replacement(concrete, schema, context.label) or f"remove it, or pin a {label} chart"
            return Placement("schema.key-of-other-version", message, hint)
    return None


def _replacement(concrete: Pattern, schema: str, label: str) -> str | None:
    """What this line's schema says replaced the key or a key below it (its ``x-replaces`` annotations)."""
    for old, new in sorted(schema_index(schema).replaced.items()):
        size = min(len(old), len(concrete))
        if _matches(old[:size], concrete[:size]):
            return f"{_show(old, concrete)} was replaced by {_show(new)} in {label}"
    return None


def _other_component(concrete: Pattern, context: KeyContext | None) -> Placement | None:
    """A key of another type the stack uses: values written into the wrong component's file."""
    if context is None:
        return None
    owners = [
        name
        for name, schemas in context.others
        if context.components.get(name) and any(_matches(path, concrete) for schema in schemas for path in schema_index(schema).paths)
    ]
    if not owners or len(owners) > MAX_PLACES:
        return None
    also = f" (also {', '.join(owners[1:])})" if owners[1:] else ""
    message = f'"{concrete[-1]}" is {_article(owners[0])} {owners[0]} key{also}; this file is for {context.type_name}'
    components = [component for name in owners for component in context.components[name]]
    return Placement("schema.key-of-other-component", message, "put it in the values of component " + " or ".join(components))


def _article(word: str) -> str:
    return "an" if word[:1] in "aeio" else "a"


def _matches(pattern: Pattern, concrete: Pattern) -> bool:
    return len(pattern) == len(concrete) and _common(pattern, concrete) == len(pattern)


def _common(pattern: Pattern, concrete: Pattern) -> int:
    """How many leading parts of ``concrete`` the pattern matches (``*`` matches a key, not a list item)."""
    count = 0
    for p, c in zip(pattern, concrete):
        if not (p == c or (p == ANY_KEY and c != ANY_ITEM)):
            break
        count += 1
    return count


def _show(pattern: Pattern, concrete: Pattern = ()) -> str:
    """A pattern as a dotted path, with the user's own keys where it runs along ``concrete``."""
    shared = _common(pattern, concrete)
    text = ""
    for position, part in enumerate(pattern):
        if position < shared:
            part = concrete[position]
        if part == ANY_ITEM:
            text += "[]"
        else:
            text += ("." if text else "") + ("<name>" if part == ANY_KEY else part)
    return text
