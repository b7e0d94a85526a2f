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


@lru_cache(maxsize=1)
def all_schemas() -> dict[str, dict[str, Any]]:
    """Every packaged schema by file name, parsed once per process."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(schema_dir().glob(f"*{SCHEMA_SUFFIX}")):
        with path.open(encoding="utf-8") as handle:
            found[path.name] = json.load(handle)
    return found


def load_schema(name: str) -> dict[str, Any]:
    try:
        return all_schemas()[name]
    except KeyError:
        raise KeyError(f"no schema named {name!r} in {schema_dir()}") from None


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


@lru_cache(maxsize=1)
def _registry() -> jsonschema_rs.Registry:
    return jsonschema_rs.Registry([(schema_uri(name), schema) for name, schema in all_schemas().items()])


@lru_cache(maxsize=64)
def fast_validator(name: str) -> Any:
    """A compiled jsonschema-rs validator for one packaged schema (cached per process)."""
    return jsonschema_rs.validator_for(load_schema(name), registry=_registry())


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
