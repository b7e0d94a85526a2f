"""Secrets: ``!env`` values resolved for helm only at apply time, and redacted from everything else.

Composed values carry :class:`~meshcharts.core.model.EnvRef` objects, whose text is a placeholder. A
placeholder must never reach ``helm upgrade`` (helm would install the text ``<secret from env X>``),
and a resolved secret must never reach anything but helm's stdin. Two types keep the two apart:

* :class:`PlaceholderValues` — what ``render``, ``lint`` and ``template`` hand helm: JSON-plain values
  with every secret as its placeholder. Safe to print, write and log.
* :class:`ResolvedValues` — what only ``apply`` builds (:func:`resolve_secrets`): the secrets' real
  values from the environment, plus the list of them, so anything helm prints back can be redacted
  (:meth:`ResolvedValues.redact`). Its ``repr`` shows no values.

Helm release verbs accept only :class:`ResolvedValues`; a placeholder cannot get there by mistake.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from meshcharts.core.diagnostics import ConfigError, Diagnostic
from meshcharts.core.model import EnvRef

REDACTED = "<redacted>"


def _plain(value: Any, resolve: Mapping[str, str] | None, found: list[tuple[str, EnvRef]], path: str) -> Any:
    """JSON types only; EnvRefs become their placeholder (``resolve`` None) or their resolved value."""
    if isinstance(value, EnvRef):
        found.append((path, value))
        if resolve is None:
            return value.placeholder
        return resolve.get(value.name, value.placeholder)
    if isinstance(value, Mapping):
        return {str(key): _plain(item, resolve, found, f"{path}.{key}" if path else str(key)) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item, resolve, found, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()  # what helm itself makes of an unquoted YAML date: a string
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    # Name the type only: the value may be a secret.
    raise TypeError(f"values contain a {type(value).__name__}, which helm cannot take")


@dataclass(frozen=True)
class PlaceholderValues:
    """Values for dry helm verbs (lint, template): secrets are placeholders, safe to show anywhere."""

    values: dict[str, Any]

    @classmethod
    def of(cls, values: Mapping[str, Any] | None) -> PlaceholderValues:
        return cls(_plain(dict(values or {}), None, [], ""))

    def to_json(self) -> bytes:
        return json.dumps(self.values).encode()


@dataclass(frozen=True)
class ResolvedValues:
    """Values with every ``!env`` secret resolved: for ``helm upgrade -i`` stdin and nothing else."""

    values: dict[str, Any] = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False, default=())
    secret_paths: tuple[str, ...] = ()  # dotted paths of the secrets, for messages (never the values)

    def to_json(self) -> bytes:
        return json.dumps(self.values).encode()

    def redact(self, text: str) -> str:
        """``text`` with every secret (and its JSON-escaped and base64 forms) replaced by <redacted>."""
        return redact(text, self.secrets)

    def digest(self) -> str:
        """A stable hash of the values (secrets included, so a rotated secret is a change), for the ledger."""
        return hashlib.sha256(json.dumps(self.values, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def secret_forms(secret: str) -> set[str]:
    """The ways a secret can show up in helm's output: as is, JSON-escaped, and base64 (Secret data)."""
    forms = {secret, json.dumps(secret)[1:-1], base64.b64encode(secret.encode()).decode()}
    return {form for form in forms if len(form) >= 1}


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every form of every secret in ``text``; longest first, so no part of one survives."""
    forms = sorted({form for secret in secrets if secret for form in secret_forms(secret)}, key=len, reverse=True)
    for form in forms:
        text = text.replace(form, REDACTED)
    return text


def resolve_secrets(
    values: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    cluster: str | None = None,
    component: str | None = None,
) -> ResolvedValues:
    """Resolve every ``!env NAME`` from ``environ``; one error per missing variable, naming it and the key.

    An empty variable counts as missing: an empty password is never what a ``!env`` meant.
    """
    found: list[tuple[str, EnvRef]] = []
    _plain(dict(values), None, found, "")
    missing = [(path, ref) for path, ref in found if not environ.get(ref.name)]
    if missing:
        raise ConfigError(
            [
                Diagnostic(
                    message=f"environment variable {ref.name} is not set (or empty); apply needs it for this secret",
                    rule="secrets.missing-env",
                    location=ref.location,
                    cluster=cluster,
                    component=component,
                    path=path,
                    hint=f"export {ref.name}=... in the environment that runs meshcharts apply",
                )
                for path, ref in missing
            ]
        )
    resolved = {ref.name: environ[ref.name] for _, ref in found}
    plain = _plain(dict(values), resolved, [], "")
    return ResolvedValues(plain, tuple(sorted(set(resolved.values()))), tuple(path for path, _ in found))
