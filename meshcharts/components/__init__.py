"""The catalog of built-in component types, found by scanning this package.

Every module here that defines ``COMPONENT_TYPE`` contributes one type; nothing else lists them, so a
new chart is one new module (plus its schema).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from meshcharts.components.base import ComponentType


@lru_cache(maxsize=1)
def catalog() -> dict[str, ComponentType]:
    """All built-in component types by name."""
    found: dict[str, ComponentType] = {}
    for module_info in pkgutil.iter_modules(__path__):
        if module_info.name.startswith("_") or module_info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        component_type = getattr(module, "COMPONENT_TYPE", None)
        if isinstance(component_type, ComponentType):
            found[component_type.name] = component_type
    return dict(sorted(found.items()))


def get_type(name: str) -> ComponentType | None:
    return catalog().get(name)


__all__ = ["ComponentType", "catalog", "get_type"]
