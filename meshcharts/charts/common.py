"""What both generators share: schema checks of the values, package templates, draft-07 schemas for Helm.

The component schemas in ``meshcharts/schemas/`` are JSON Schema 2020-12 (the project's dialect);
Helm 3 validates ``values.schema.json`` with a draft-07 validator. Our schemas use only keywords the
two drafts share, so the chart's schema is the component schema with ``$schema`` swapped and ``$id``
dropped (an ``$id`` with an https URL would make a validator try to resolve it).
"""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

from meshcharts.charts.chartwriter import HELM_SCHEMA_DRAFT, GeneratorError
from meshcharts.schema.store import fast_validator, load_schema

TEMPLATE_PACKAGE = "meshcharts.charts"


def template_dir(chart: str) -> Path:
    """The packaged templates of one generated chart (``meshcharts/charts/templates/<chart>``)."""
    return Path(str(resources.files(TEMPLATE_PACKAGE) / "templates" / chart))


def packaged_templates(chart: str) -> dict[str, str]:
    """Every packaged template of ``chart`` as ``templates/<file>`` -> text, in name order."""
    folder = template_dir(chart)
    return {
        f"templates/{path.name}": path.read_text(encoding="utf-8")
        for path in sorted(folder.iterdir())
        if path.is_file() and path.suffix in (".yaml", ".tpl", ".txt")
    }


def schema_problems(schema_name: str, values: dict[str, Any]) -> list[tuple[str, str]]:
    """Schema errors of ``values`` against a packaged schema, as ``(dotted.path, message)``."""
    validator = fast_validator(schema_name)
    problems = []
    for error in validator.iter_errors(values):
        path = ".".join(str(part) for part in error.instance_path)
        problems.append((path, error.message))
    return sorted(problems)


def check_schema(schema_name: str, values: dict[str, Any]) -> None:
    """Raise :class:`GeneratorError` when ``values`` do not satisfy the packaged schema."""
    problems = schema_problems(schema_name, values)
    if problems:
        raise GeneratorError(problems)


def helm_schema(schema_name: str) -> dict[str, Any]:
    """The packaged 2020-12 schema rewritten as the draft-07 ``values.schema.json`` Helm reads."""
    schema = copy.deepcopy(load_schema(schema_name))
    schema.pop("$id", None)
    schema["$schema"] = HELM_SCHEMA_DRAFT
    return schema


def get_path(values: dict[str, Any], *keys: str, default: Any = None) -> Any:
    """``values[k1][k2]...`` or ``default`` when any step is missing or not a map."""
    current: Any = values
    for key in keys:
        if not isinstance(current, dict) or key not in current:
            return default
        current = current[key]
    return current


def enabled(entry: Any) -> bool:
    """Map entries (policies, dashboards, links...) are on unless ``enabled: false``; ``None`` is off."""
    return isinstance(entry, dict) and entry.get("enabled", True) is not False


__all__ = [
    "GeneratorError",
    "check_schema",
    "enabled",
    "get_path",
    "helm_schema",
    "packaged_templates",
    "schema_problems",
    "template_dir",
]
