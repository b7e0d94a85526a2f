"""Packages that re-export their names lazily (PEP 562): the name is imported from its module on first use.

meshcharts, meshcharts.helm and meshcharts.sandbox each keep a cheap ``import``: the top-level package
so ``validate`` (the pre-commit path) loads nothing of deploy, helm so reading a manifest does not import
pyhelm3, the sandbox so its build step runs on the standard library alone.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` (a module path) when ``name`` is asked."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    return __getattr__


__all__ = ["lazy_exports"]
