"""Comparing Kubernetes objects the way the API server sees them, field by field, secrets masked.

Two objects the server produced (the live one, and the result of a server-side dry run of what helm
would apply) differ only where applying would change something; the fields the server maintains
(``managedFields``, ``resourceVersion``, ``generation``, ``status`` ...) are dropped first, since they
change on every write whether or not anything was asked for.

Helm 3 upgrades with a three-way merge: a field that was in the previous revision's manifest and is
gone from the new one is deleted, a field nobody ever rendered stays. :func:`removed_paths` finds what
the new manifest dropped, so the prediction removes exactly that (map keys, and list entries that
Kubernetes merges by a key such as ``name``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import yaml

from meshcharts.core.secrets import REDACTED

#: Metadata the server writes on every change: never a difference anyone asked for.
_SERVER_METADATA = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp", "selfLink")
#: Keys by which Kubernetes merges the entries of these lists (their patchMergeKey), in order of preference.
_MERGE_KEYS = ("name", "mountPath", "containerPort", "port", "ip", "type")

Path = tuple[Any, ...]


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: its path, and the value before and after (``None`` where absent)."""

    path: str
    before: Any
    after: Any

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


def normalized(obj: dict[str, Any] | None) -> dict[str, Any] | None:
    """The object without what the server maintains on its own (a copy)."""
    if obj is None:
        return None
    result = json.loads(json.dumps(obj))
    result.pop("status", None)
    meta = result.get("metadata") or {}
    for key in _SERVER_METADATA:
        meta.pop(key, None)
    if not meta.get("annotations"):
        meta.pop("annotations", None)
    if not meta.get("labels"):
        meta.pop("labels", None)
    return result


def mask_secret_data(before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """A Secret's values as ``<redacted>`` (equal) or with a short digest each side (changed), as kubectl diff
    masks them: a reviewer sees which keys change, never what they hold."""
    if (before or after or {}).get("kind") != "Secret":
        return before, after
    for section in ("data", "stringData"):
        old = (before or {}).get(section) or {}
        new = (after or {}).get(section) or {}
        for key in set(old) | set(new):
            same = old.get(key) == new.get(key)
            if key in old:
                old[key] = REDACTED if same else f"{REDACTED} ({_short(old[key])})"
            if key in new:
                new[key] = REDACTED if same else f"{REDACTED} ({_short(new[key])})"
    return before, after


def _short(value: Any) -> str:
    """Eight hex digits of a salted hash: tells two values apart without offering a guessable digest of one."""
    return hashlib.sha256(b"meshcharts-plan\0" + str(value).encode()).hexdigest()[:8]


def field_changes(before: Any, after: Any, path: Path = ()) -> list[FieldChange]:
    """Every leaf that differs between two objects (lists of keyed entries compared entry by entry)."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[FieldChange] = []
        for key in sorted(set(before) | set(after), key=str):
            changes.extend(field_changes(before.get(key), after.get(key), (*path, key)))
        return changes
    if isinstance(before, list) and isinstance(after, list):
        key = _merge_key(before + after)
        if key is not None:
            old = {entry[key]: entry for entry in before}
            new = {entry[key]: entry for entry in after}
            if len(old) == len(before) and len(new) == len(after):
                changes = []
                for name in list(old) + [name for name in new if name not in old]:
                    changes.extend(field_changes(old.get(name), new.get(name), (*path, f"{key}={name}")))
                return changes
    return [FieldChange(dotted(path), before, after)]


def _merge_key(entries: list[Any]) -> str | None:
    if not entries or not all(isinstance(entry, dict) for entry in entries):
        return None
    for key in _MERGE_KEYS:
        if all(key in entry and isinstance(entry[key], (str, int)) for entry in entries):
            return key
    return None


def dotted(path: Path) -> str:
    parts = []
    for part in path:
        text = str(part)
        parts.append(f"[{text}]" if "=" in text else text)
    return ".".join(parts).replace(".[", "[")


def contains(wanted: Any, live: Any, *, quantities: bool = False) -> bool:
    """Whether every field of ``wanted`` has the same value in ``live`` (lists: same length, entry by entry).

    A quick test with no false "equal": where it says yes, applying ``wanted`` changes nothing it sets.
    Resource quantities (under ``limits``, ``requests``, ``capacity``, ``hard``) compare by amount, as
    the server stores them in canonical form (``1024Mi`` is stored as ``1Gi``). Where it says no the
    difference may still be only a spelling the server normalizes, so callers ask the server (a dry
    run) before calling it a change.
    """
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(
            key in live and contains(value, live[key], quantities=quantities or key in _QUANTITY_KEYS)
            for key, value in wanted.items()
            if value is not None
        )
    if isinstance(wanted, list):
        return isinstance(live, list) and len(wanted) == len(live) and all(contains(a, b, quantities=quantities) for a, b in zip(wanted, live))
    if isinstance(wanted, bool) or isinstance(live, bool):
        return wanted is live
    if isinstance(wanted, (int, float)) and isinstance(live, (int, float)):
        return float(wanted) == float(live)
    if quantities and wanted != live:
        amount, stored = quantity(wanted), quantity(live)
        return amount is not None and amount == stored
    return bool(wanted == live)


_QUANTITY_KEYS = frozenset(("limits", "requests", "capacity", "hard"))
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[eE][+-]?[0-9]+|n|u|m|k|M|G|T|P|E)?$")
_SUFFIX: dict[str, int | Decimal] = {
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
    "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": 1,
    "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
}


def quantity(value: Any) -> Decimal | None:
    """A Kubernetes resource quantity's amount (``500m`` -> 0.5, ``1Gi`` -> 1073741824), or None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    match = _QUANTITY.match(str(value).strip())
    if match is None:
        return None
    number, suffix = Decimal(match.group(1)), match.group(2) or ""
    if suffix[:1] in ("e", "E") and suffix not in _SUFFIX:
        return number * (Decimal(10) ** int(suffix[1:]))
    return number * Decimal(_SUFFIX[suffix])


def removed_paths(previous: Any, desired: Any, path: Path = ()) -> list[Path]:
    """Paths rendered in the previous revision and no longer in the new one: what helm's three-way merge deletes."""
    if not isinstance(previous, dict) or not isinstance(desired, dict):
        return []
    removed: list[Path] = []
    for key, value in previous.items():
        if key not in desired or desired[key] is None:
            if value is not None:
                removed.append((*path, key))
        elif isinstance(value, dict):
            removed.extend(removed_paths(value, desired[key], (*path, key)))
        elif isinstance(value, list) and isinstance(desired[key], list):
            merge_key = _merge_key(value + desired[key])
            if merge_key is not None:
                kept = {entry[merge_key]: entry for entry in desired[key]}
                for entry in value:
                    name = entry[merge_key]
                    if name not in kept:
                        removed.append((*path, key, (merge_key, name)))
                    else:
                        removed.extend(removed_paths(entry, kept[name], (*path, key, (merge_key, name))))
    return removed


def remove_paths(obj: dict[str, Any], paths: Iterable[Path]) -> None:
    """Delete each path from ``obj`` in place (a ``(key, value)`` step selects a list entry by its merge key)."""
    for path in paths:
        parent: Any = obj
        for step in path[:-1]:
            parent = _step(parent, step)
            if parent is None:
                break
        if parent is None:
            continue
        last = path[-1]
        if isinstance(last, tuple) and isinstance(parent, list):
            parent[:] = [entry for entry in parent if not (isinstance(entry, dict) and entry.get(last[0]) == last[1])]
        elif isinstance(parent, dict):
            parent.pop(last, None)


def _step(node: Any, step: Any) -> Any:
    if isinstance(step, tuple):
        if not isinstance(node, list):
            return None
        return next((entry for entry in node if isinstance(entry, dict) and entry.get(step[0]) == step[1]), None)
    return node.get(step) if isinstance(node, dict) else None


def value_at(obj: Any, path: Path) -> Any:
    node = obj
    for step in path:
        node = _step(node, step)
        if node is None:
            return None
    return node


_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def unified(before: dict[str, Any] | None, after: dict[str, Any] | None, label: str) -> str:
    """A unified diff of the two objects as YAML: what ``kubectl diff`` shows a reviewer."""
    def lines(obj: dict[str, Any] | None) -> list[str]:
        if obj is None:
            return []
        return yaml.dump(obj, Dumper=_DUMPER, sort_keys=True, default_flow_style=False, width=4096).splitlines()

    diff = difflib.unified_diff(lines(before), lines(after), f"live/{label}", f"planned/{label}", n=2, lineterm="")
    return "\n".join(diff)
