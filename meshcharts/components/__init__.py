"""The catalog of built-in component types, found by scanning this package.

Every module here that defines ``COMPONENT_TYPE`` contributes one type; nothing else lists them, so a
new chart is one new module (plus its schema). A module that defines ``EXTERNAL_TYPE`` describes an
installation the stack uses but does not install (``external.<name>.type``), the same way.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

from meshcharts.components.base import ComponentType
from meshcharts.core.externals import ExternalType


def _modules() -> list[object]:
    return [
        importlib.import_module(f"{__name__}.{module_info.name}")
        for module_info in pkgutil.iter_modules(__path__)
        if not module_info.name.startswith("_") and module_info.name != "base"
    ]


@lru_cache(maxsize=1)
def catalog() -> dict[str, ComponentType]:
    """All built-in component types by name."""
    found: dict[str, ComponentType] = {}
    for module in _modules():
        component_type = getattr(module, "COMPONENT_TYPE", None)
        if isinstance(component_type, ComponentType):
            found[component_type.name] = component_type
    return dict(sorted(found.items()))


@lru_cache(maxsize=1)
def external_catalog() -> dict[str, ExternalType]:
    """All known external types (rancher-monitoring ...) by name."""
    found = {external.name: external for external in (getattr(module, "EXTERNAL_TYPE", None) for module in _modules()) if isinstance(external, ExternalType)}
    return dict(sorted(found.items()))


def get_type(name: str) -> ComponentType | None:
    return catalog().get(name)


__all__ = ["ComponentType", "catalog", "external_catalog", "get_type"]
