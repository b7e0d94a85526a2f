"""Which values key a pre-flight finding points at: the line in a layer file that made it happen.

A finding about an object (a kind the cluster does not serve) points at the key that switched the
object on; one about a value (a StorageClass, a namespace) at the key set to it. Keys are found in the
composition's provenance tree, preferring what a layer file set over what defaults and wiring did.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshcharts.compose.project import USER_LAYERS, Composition
from meshcharts.core.model import Branch, Leaf, PathT


def object_key(composition: Composition | None, api_version: str, kind: str, names: list[str]) -> PathT | None:
    """The values key that made the chart render these objects: a layer's value that is the apiVersion
    or the kind itself (``monitors.envoy.kind: ServiceMonitor``), else the keys a layer set that are
    named like the objects (``exposure.istio.kiali`` for the Gateway ``kiali``; their common parent
    for several), preferring paths that mention the kind or its group (``istio``, ``navLinks``)."""
    if composition is None:
        return None
    nodes = list(_nodes(composition.tree, (), True))
    typed = [path for path, node in nodes if isinstance(node, Leaf) and (node.value == api_version or (node.value == kind and str(path[-1]).lower() == "kind"))]
    if typed:
        return typed[0]
    words = {part for part in api_group(api_version).split(".") if part not in ("io", "com", "k8s", "x")} | {kind.lower()}
    named = [path for path, node in nodes if isinstance(node, Branch) and path[-1] in names]
    fitting = [path for path in named if any(str(part).lower().rstrip("s") in words or str(part).lower() in words for part in path)]
    candidates = fitting or named
    chosen: list[PathT] = []
    for name in dict.fromkeys(names):  # the first key named like each object
        path = next((path for path in candidates if path[-1] == name), None)
        if path is not None and path not in chosen:
            chosen.append(path)
    if len(chosen) > 1:
        return _common_prefix(chosen) or chosen[0]
    return chosen[0] if chosen else None


def _common_prefix(paths: list[PathT]) -> PathT:
    prefix: list[str | int] = []
    for parts in zip(*paths):
        if len(set(parts)) != 1:
            break
        prefix.append(parts[0])
    return tuple(prefix)


def value_key(composition: Composition | None, value: str, words: tuple[str, ...]) -> tuple[PathT | None, bool]:
    """The key set to ``value`` whose name says what it is (``storageClassName``, ``namespace``), and
    whether a layer file set it; a key the wiring derived has no line of its own (the component's then)."""
    if composition is None:
        return None, False
    for user_only in (True, False):
        for path, node in _nodes(composition.tree, (), user_only):
            if isinstance(node, Leaf) and node.value == value and path and any(word in str(path[-1]).lower() for word in words):
                return path, user_only
    return None, False


def _nodes(branch: Branch, path: PathT, user_only: bool) -> Iterator[tuple[PathT, Branch | Leaf]]:
    """Every node (with ``user_only``: that a layer file set, or that holds one), in the order of the values."""
    for key, child in branch.children.items():
        child_path = path + (key,)
        if isinstance(child, Branch):
            if not user_only or child.origin.layer in USER_LAYERS or any(True for _ in _nodes(child, child_path, True)):
                yield child_path, child
                yield from _nodes(child, child_path, user_only)
        elif not user_only or child.origin.layer in USER_LAYERS:
            yield child_path, child


def api_group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


__all__ = ["api_group", "object_key", "value_key"]
