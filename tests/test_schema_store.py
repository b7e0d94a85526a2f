"""Every packaged schema is a valid 2020-12 schema, and the fast validator (jsonschema-rs, the hot path)
agrees with the reference implementation (jsonschema) on what meshcharts really validates."""

from __future__ import annotations

import jsonschema
import pytest

import meshcharts
from meshcharts.components import catalog
from meshcharts.schema.store import (
    SCHEMA_BASE_URI,
    all_schemas,
    fast_validator,
    reference_validator,
)
from tests.conftest import REPO_ROOT

SCHEMAS = sorted(all_schemas())


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_2020_12_with_matching_id(name: str) -> None:
    schema = all_schemas()[name]
    assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema.get("$id") == SCHEMA_BASE_URI + name


def test_every_schema_line_of_every_type_exists() -> None:
    for component_type in catalog().values():
        for line in component_type.schema_lines:
            assert line.schema in all_schemas(), f"{component_type.name}: {line.schema} missing"


def _errors_rs(name: str, instance: object) -> set[tuple[str, ...]]:
    return {tuple(str(p) for p in error.instance_path) for error in fast_validator(name).iter_errors(instance)}


def _errors_ref(name: str, instance: object) -> set[tuple[str, ...]]:
    return {tuple(str(p) for p in error.absolute_path) for error in reference_validator(name).iter_errors(instance)}


def test_both_validators_agree_on_the_example_compositions() -> None:
    project = meshcharts.open_project(REPO_ROOT)
    for composition in project.compose_all():
        component = composition.component
        schema = component.type.choose_schema(component.version).line.schema
        values = composition.validation_values()
        assert _errors_rs(schema, values) == _errors_ref(schema, values) == set()
        broken = dict(values, auth={"strategy": "anonymus"}, unknownTopLevelKey=1)
        assert bool(_errors_rs(schema, broken)) == bool(_errors_ref(schema, broken))
