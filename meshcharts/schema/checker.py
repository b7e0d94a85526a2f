"""Schema checking: run the compiled schema, turn each error into a Diagnostic at the right file:line.

A schema error only knows a path inside the document; a *locator* maps that path to the place a person
must edit (for a composition, the layer file that set the value). Messages are rewritten here, once,
for people: unknown keys get did-you-mean from the keys the schema allows, or where they belong when
some schema knows them (:mod:`meshcharts.schema.keyindex`); enums get the closest value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from meshcharts.core.diagnostics import ConfigError, Diagnostic, Location, Severity
from meshcharts.core.model import dotted
from meshcharts.core.suggest import did_you_mean
from meshcharts.schema.keyindex import KeyContext, place_unknown_key
from meshcharts.schema.store import fast_validator, load_schema, resolve_ref

Path_ = tuple[str | int, ...]
#: path, is_key -> where to point; is_key asks for the key's own position (for unknown keys)
Locator = Callable[[Path_, bool], "Location | None"]


@dataclass(frozen=True)
class Judgement:
    """The schema's verdict on one document: findings for people, and where it rejected a value.

    ``rejected`` lists the paths whose value is of the wrong kind (type, enum, range ...), not those
    merely incomplete (a required key missing, which wired values may still fill in). What reads a
    document on the schema's word, the wiring above all, reads :func:`accepted` instead of the document.
    """

    diagnostics: list[Diagnostic]
    rejected: tuple[Path_, ...]


def judge(
    schema_name: str,
    instance: Any,
    locate: Locator,
    *,
    cluster: str | None = None,
    component: str | None = None,
    label: str = "",
    context: KeyContext | None = None,
) -> Judgement:
    """Validate ``instance`` against a packaged schema: its findings (one per problem) and the paths it rejected.

    ``context`` (the component type, its other schema lines, the other types) lets an unknown key say
    which chart line or component it belongs to.
    """
    validator = _validator(schema_name, cluster, component)
    found: dict[Diagnostic, None] = {}  # in order, each once (a set lookup: errors can be 100,000)
    rejected: list[Path_] = []
    for error in validator.iter_errors(instance):
        rejected.extend(_rejected_paths(error, instance))
        for diagnostic in _translate(error, schema_name, instance, locate, label, context):
            found.setdefault(diagnostic.with_context(cluster=cluster, component=component))
    return Judgement(list(found), tuple(rejected))


def _validator(schema_name: str, cluster: str | None, component: str | None) -> Any:
    try:
        return fast_validator(schema_name)
    except KeyError:
        raise ConfigError(
            Diagnostic(message=f"this meshcharts installation has no schema {schema_name}; reinstall meshcharts", rule="schema.missing", component=component, cluster=cluster)
        ) from None


def judge_deletions(
    schema_name: str,
    deleted: list[tuple[str, ...]],
    locate: Locator,
    *,
    cluster: str | None = None,
    component: str | None = None,
    label: str = "",
    context: KeyContext | None = None,
) -> list[Diagnostic]:
    """Unknown keys among those the values set to ``null``: each a typo that deletes nothing.

    ``null`` deletes a chart default, so the document :func:`judge` sees has no such key, and a
    misspelt one (``deploymnet: null``) would pass as silently as it does in Helm. We check a skeleton
    that holds just the deleted keys and keep only what the schema says of them being unknown (their
    values, ``null``, are not theirs to judge: Helm never sees them).
    """
    skeleton: dict[str, Any] = {}
    wanted: set[str] = set()
    for path in deleted:
        node = skeleton
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = None
        wanted.add(dotted(path))
    if not wanted:
        return []
    validator = _validator(schema_name, cluster, component)
    found: dict[Diagnostic, None] = {}
    for error in validator.iter_errors(skeleton):
        if type(error.kind).__name__ != "AdditionalProperties":
            continue
        for diagnostic in _translate(error, schema_name, skeleton, locate, label, context):
            if diagnostic.path in wanted:
                diagnostic = replace(diagnostic, message=f"{diagnostic.message}: null there deletes nothing")
                found.setdefault(diagnostic.with_context(cluster=cluster, component=component))
    return list(found)


#: error kinds that say the value itself is wrong; the others (required, minItems, pattern ...) leave a
#: value of the right kind that readers can take safely
_WRONG_VALUE = frozenset(
    {"Type", "Enum", "Constant", "Minimum", "Maximum", "ExclusiveMinimum", "ExclusiveMaximum", "MultipleOf", "FalseSchema", "Not"}
)


def _rejected_paths(error: Any, instance: Any) -> list[Path_]:
    """The values an error rejects: the one at its path, or the unknown keys it names (the chart has no
    such key, so nothing should act on it)."""
    path = real_path(instance, error.instance_path)
    kind = type(error.kind).__name__
    if kind in ("AdditionalProperties", "UnevaluatedProperties"):
        return [path + (key,) for key in error.kind.unexpected]
    if kind == "PropertyNames":
        return [path + (str(error.kind.error.instance),)]
    return [path] if _condemns(error) else []


def real_path(instance: Any, path: Any) -> Path_:
    """The error's instance path with keys as the document spells them (jsonschema-rs gives a key
    ``"7639"`` as the number 7639)."""
    found: list[str | int] = []
    node = instance
    for part in path:
        if isinstance(node, dict):
            part = str(part)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        found.append(part)
    return tuple(found)


def _condemns(error: Any) -> bool:
    """Whether an error rejects the value at its path; ``anyOf``/``oneOf`` when every alternative does."""
    kind = type(error.kind).__name__
    if kind in _WRONG_VALUE:
        return True
    if kind in ("AnyOf", "OneOfNotValid"):
        here = list(error.instance_path)
        return all(any(list(sub.instance_path) == here and _condemns(sub) for sub in alternative) for alternative in error.kind.context)
    return False


_GONE = object()


def accepted(instance: Any, rejected: tuple[Path_, ...]) -> Any:
    """``instance`` without the values at ``rejected`` (a rejected list item is dropped from its list).

    Copies only along the rejected paths; with nothing rejected it is ``instance`` itself.
    """
    if not rejected:
        return instance
    tree: dict[Any, Any] = {}
    for path in rejected:
        node = tree
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if child is _GONE:
                break
            node = child
        else:
            if not path:
                return type(instance)()
            node[path[-1]] = _GONE
    return _without(instance, tree)


def _without(value: Any, prune: dict[Any, Any]) -> Any:
    if isinstance(value, dict):
        result = dict(value)
        for key, sub in prune.items():
            if key in result:
                if sub is _GONE:
                    del result[key]
                else:
                    result[key] = _without(result[key], sub)
        return result
    if isinstance(value, list):
        items = list(value)
        indexes = [index for index in prune if isinstance(index, int) and 0 <= index < len(items)]
        for index in indexes:
            if prune[index] is not _GONE:
                items[index] = _without(items[index], prune[index])
        for index in sorted((i for i in indexes if prune[i] is _GONE), reverse=True):
            del items[index]
        return items
    return value


def _translate(error: Any, schema_name: str, instance: Any, locate: Locator, label: str, context: KeyContext | None) -> Iterator[Diagnostic]:
    path = real_path(instance, error.instance_path)
    kind = type(error.kind).__name__
    suffix = f" ({label})" if label else ""
    if kind == "AdditionalProperties":
        allowed = _allowed_keys(schema_name, tuple(error.schema_path))
        for key in error.kind.unexpected:
            key_path = path + (key,)
            placement = place_unknown_key(schema_name, key_path, allowed, context)
            yield Diagnostic(
                message=(placement.message if placement else f'unknown key "{key}"') + suffix,
                rule=placement.rule if placement else "schema.unknown-key",
                location=locate(key_path, True),
                path=dotted(key_path),
                hint=placement.hint if placement else did_you_mean(key, allowed),
            )
        return
    if kind == "Enum":
        options = [option for option in error.kind.options if isinstance(option, str)]
        value = _value_at(instance, path)
        hint = did_you_mean(value, options) if isinstance(value, str) else None
        yield Diagnostic(
            message=f"{json.dumps(value)} is not one of {', '.join(json.dumps(o) for o in error.kind.options)}{suffix}",
            rule="schema.enum",
            location=locate(path, False),
            path=dotted(path),
            hint=hint,
        )
        return
    if kind == "PropertyNames":  # point at the key itself, not at the mapping that holds it
        key_path = path + (str(error.kind.error.instance),)
        yield Diagnostic(
            message=_plain_message(error.kind.error.message) + suffix,
            rule="schema.property-names",
            location=locate(key_path, True),
            path=dotted(key_path),
        )
        return
    yield Diagnostic(
        message=_plain_message(error.message, error.instance) + suffix,
        rule=f"schema.{_rule_name(kind)}",
        location=locate(path, False),
        path=dotted(path),
    )


def _rule_name(kind: str) -> str:
    out = ""
    for index, char in enumerate(kind):
        if char.isupper() and index:
            out += "-"
        out += char.lower()
    return out


MAX_SHOWN_VALUE = 80  # characters of a value quoted in a message; a 300-level map is cut, not printed


def _plain_message(message: str, value: Any = None) -> str:
    """jsonschema-rs messages are good; keep them to one line, and a long quoted value short."""
    try:
        shown = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError):
        shown = ""
    if len(shown) > MAX_SHOWN_VALUE and shown in message:
        message = message.replace(shown, f"{shown[: MAX_SHOWN_VALUE - 20]}...({len(shown)} characters)", 1)
    return " ".join(message.split())


def _allowed_keys(schema_name: str, schema_path: tuple[Any, ...]) -> list[str]:
    """The property names the failing sub-schema lists (following a local or registry $ref once)."""
    document, node = schema_name, load_schema(schema_name)
    for part in schema_path[:-1]:  # the last part is "additionalProperties" itself
        if isinstance(node, dict) and "$ref" in node and part not in node:
            document, node = resolve_ref(node["$ref"], document)
        try:
            node = node[part] if not isinstance(node, list) else node[int(part)]
        except (KeyError, IndexError, TypeError, ValueError):
            return []
    if isinstance(node, dict) and "$ref" in node and "properties" not in node:
        document, node = resolve_ref(node["$ref"], document)
    properties = node.get("properties", {}) if isinstance(node, dict) else {}
    return list(properties)


def _value_at(instance: Any, path: Path_) -> Any:
    node = instance
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def warning(message: str, rule: str, location: Location | None = None, **context: Any) -> Diagnostic:
    """Shorthand for the non-fatal findings (schema guessed for an unknown chart version, ...)."""
    return Diagnostic(message=message, rule=rule, location=location, severity=Severity.WARNING, **context)
