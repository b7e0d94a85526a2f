"""Schema checking: run the compiled schema, turn each error into a Diagnostic at the right file:line.

A schema error only knows a path inside the document; a *locator* maps that path to the place a person
must edit (for a composition, the layer file that set the value). Messages are rewritten here, once,
for people: unknown keys get did-you-mean from the keys the schema allows, enums get the closest value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from meshcharts.core.diagnostics import ConfigError, Diagnostic, Location, Severity
from meshcharts.core.suggest import did_you_mean
from meshcharts.schema.store import SCHEMA_BASE_URI, fast_validator, load_schema

Path_ = tuple[str | int, ...]
#: path, is_key -> where to point; is_key asks for the key's own position (for unknown keys)
Locator = Callable[[Path_, bool], "Location | None"]


def dotted(path: Path_) -> str:
    """``("deployment", "resources", 0)`` -> ``deployment.resources[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + str(part)
    return text


def schema_diagnostics(
    schema_name: str,
    instance: Any,
    locate: Locator,
    *,
    cluster: str | None = None,
    component: str | None = None,
    label: str = "",
) -> list[Diagnostic]:
    """Validate ``instance`` against a packaged schema; one Diagnostic per problem, deduplicated."""
    try:
        validator = fast_validator(schema_name)
        schema = load_schema(schema_name)
    except KeyError:
        raise ConfigError(
            Diagnostic(message=f"this meshcharts installation has no schema {schema_name}; reinstall meshcharts", rule="schema.missing", component=component, cluster=cluster)
        ) from None
    found: dict[Diagnostic, None] = {}  # in order, each once (a set lookup: errors can be 100,000)
    for error in validator.iter_errors(instance):
        for diagnostic in _translate(error, schema, instance, locate, label):
            found.setdefault(diagnostic.with_context(cluster=cluster, component=component))
    return list(found)


def _translate(error: Any, schema: dict[str, Any], instance: Any, locate: Locator, label: str) -> Iterator[Diagnostic]:
    path: Path_ = tuple(error.instance_path)
    kind = type(error.kind).__name__
    suffix = f" ({label})" if label else ""
    if kind == "AdditionalProperties":
        allowed = _allowed_keys(schema, tuple(error.schema_path))
        for key in error.kind.unexpected:
            key_path = path + (key,)
            yield Diagnostic(
                message=f'unknown key "{key}"{suffix}',
                rule="schema.unknown-key",
                location=locate(key_path, True),
                path=dotted(key_path),
                hint=did_you_mean(key, allowed),
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
    yield Diagnostic(
        message=_plain_message(error.message) + suffix,
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


def _plain_message(message: str) -> str:
    """jsonschema-rs messages are good; keep them to one line."""
    return " ".join(message.split())


def _allowed_keys(schema: dict[str, Any], schema_path: tuple[Any, ...]) -> list[str]:
    """The property names the failing sub-schema lists (following a local or registry $ref once)."""
    node: Any = schema
    for part in schema_path[:-1]:  # the last part is "additionalProperties" itself
        if isinstance(node, dict) and "$ref" in node and part not in node:
            node = _resolve(node["$ref"], schema)
        try:
            node = node[part] if not isinstance(node, list) else node[int(part)]
        except (KeyError, IndexError, TypeError, ValueError):
            return []
    if isinstance(node, dict) and "$ref" in node and "properties" not in node:
        node = _resolve(node["$ref"], schema)
    properties = node.get("properties", {}) if isinstance(node, dict) else {}
    return list(properties)


def _resolve(ref: str, schema: dict[str, Any]) -> Any:
    document: Any = schema
    base, _, pointer = ref.partition("#")
    if base:
        name = base.removeprefix(SCHEMA_BASE_URI)
        try:
            document = load_schema(name)
        except KeyError:
            return {}
    for part in [p for p in pointer.split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        document = document.get(part, {}) if isinstance(document, dict) else {}
    return document


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
