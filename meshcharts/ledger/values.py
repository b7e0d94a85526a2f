"""Values as the ledger stores them: canonical JSON of plain data, and a fingerprint of it.

The caller redacts secrets before recording (the ledger cannot know which strings are secret); what
we can do is refuse anything that is not plain data, so a secret wrapper object (``!env``'s marker
type, say) that slipped through stops the write with its key path instead of being stringified.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from meshcharts.ledger.errors import ledger_error

_SCALARS = (str, int, float, bool, type(None))


def plain_data(value: Any, path: str = "", where: str = "") -> Any:
    """``value`` as JSON-ready data (dates become ISO strings); LedgerError naming the key otherwise.

    ``where`` (``cluster/component``) goes in front of the message.
    """
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise _refuse(where, path, f"key {key!r} is a {type(key).__name__}, not a string")
            out[key] = plain_data(item, f"{path}.{key}" if path else key, where)
        return out
    if isinstance(value, (list, tuple)):
        return [plain_data(item, f"{path}[{index}]", where) for index, item in enumerate(value)]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    raise _refuse(where, path, f"a {type(value).__name__} is not plain data")


def canonical_json(values: Mapping[str, Any], *, where: str = "") -> str:
    """Sorted, compact JSON: equal values give equal text, whatever order the layers merged in."""
    return json.dumps(plain_data(values, where=where), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def hash_values(values: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of :func:`canonical_json`.

    Hash what decides a change. If secrets are redacted first, a changed secret alone is not a change;
    the caller may hash the unredacted values instead (the hash does not reveal them, but a short
    guessable secret could be confirmed from it, so prefer redacted values plus a secret version).
    """
    return "sha256:" + hashlib.sha256(canonical_json(values).encode("utf-8")).hexdigest()


def _refuse(where: str, path: str, why: str) -> Exception:
    scope = f"{where}: " if where else ""
    return ledger_error(
        f"{scope}values.{path or '<root>'}: {why}; the ledger stores values as given",
        "ledger.values",
        hint="redact secrets and pass plain YAML data",
    )
