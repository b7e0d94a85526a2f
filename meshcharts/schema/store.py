"""Where the JSON schemas live and how they are compiled.

Schemas ship inside the package (``meshcharts/schemas/*.schema.json``; ``schemas/`` at the repo root
points there) so an installed wheel validates exactly like a checkout. Each has an ``$id`` under
:data:`SCHEMA_BASE_URI`, and all of them are put in one registry, so a schema may ``$ref`` shared
definitions in another file.

The hot path compiles with jsonschema-rs (about 200x faster per validation than ``jsonschema``);
``jsonschema`` stays as the reference implementation, used by tests to check our schemas against the
2020-12 metaschema and that both libraries agree.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs

SCHEMA_BASE_URI = "https://meshcharts.dev/schemas/"
SCHEMA_SUFFIX = ".schema.json"


def schema_dir() -> Path:
    """The folder holding the packaged schemas."""
    return Path(str(resources.files("meshcharts") / "schemas"))


# the other packaged files a schema refers to: "$ref": "k8s-common.schema.json#/$defs/port"
_FILE_REF = re.compile(r'"\$ref"\s*:\s*"(?:' + re.escape(SCHEMA_BASE_URI) + r')?([^"#/]+' + re.escape(SCHEMA_SUFFIX) + r')[#"]')


@lru_cache(maxsize=None)
def _parsed(name: str) -> tuple[dict[str, Any], frozenset[str]]:
    """One packaged schema, parsed once per process, with the packaged files it refers to."""
    path = schema_dir() / name
    if "/" in name or not name.endswith(SCHEMA_SUFFIX) or not path.is_file():
        raise KeyError(f"no schema named {name!r} in {schema_dir()}")
    text = path.read_text(encoding="utf-8")
    return json.loads(text), frozenset(_FILE_REF.findall(text)) - {name}


@lru_cache(maxsize=1)
def all_schemas() -> dict[str, dict[str, Any]]:
    """Every packaged schema by file name, parsed once per process."""
    return {path.name: load_schema(path.name) for path in sorted(schema_dir().glob(f"*{SCHEMA_SUFFIX}"))}


def load_schema(name: str) -> dict[str, Any]:
    return _parsed(name)[0]


def referenced_schemas(name: str) -> list[str]:
    """``name`` and every packaged schema it refers to, directly or through another, by file name."""
    found: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current not in found:
            found.add(current)
            todo.extend(_parsed(current)[1])
    return sorted(found)


def schema_uri(name: str) -> str:
    return SCHEMA_BASE_URI + name


def resolve_ref(ref: str, document: str) -> tuple[str, Any]:
    """The schema a ``$ref`` in packaged schema ``document`` points at, with the name of the file it is in
    (``{}`` where nothing is), for code that walks schemas by hand."""
    base, _, pointer = ref.partition("#")
    name = base.removeprefix(SCHEMA_BASE_URI) if base else document
    node: Any = all_schemas().get(name, {})
    for part in [p for p in pointer.split("/") if p]:
        node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
    return name, node


@lru_cache(maxsize=64)
def fast_validator(name: str) -> Any:
    """A compiled jsonschema-rs validator for one packaged schema (cached per process).

    Its registry holds only the schemas it refers to: validating one chart's values parses and
    registers a third of the packaged schemas instead of all of them (a few milliseconds of every run).
    """
    registry = jsonschema_rs.Registry([(schema_uri(other), load_schema(other)) for other in referenced_schemas(name)])
    return jsonschema_rs.validator_for(load_schema(name), registry=registry)


def reference_validator(name: str) -> Any:
    """The pure-Python ``jsonschema`` validator for the same schema: slower, the reference for tests."""
    import jsonschema
    from referencing import Registry, Resource

    registry: Registry = Registry().with_resources(
        (schema_uri(other), Resource.from_contents(schema)) for other, schema in all_schemas().items()
    )
    schema = load_schema(name)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=registry)
