"""What the two validators report, in one comparable shape, for the schema conformance tests.

jsonschema-rs (the hot path) and jsonschema (the reference) must agree on every document; these
helpers reduce each one's errors to ``(dotted path, keyword)`` pairs and unknown-key paths.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from meshcharts.schema.store import fast_validator, reference_validator

Finding = tuple[str, str]  # (dotted instance path, failing keyword)


def dotted(path: Any) -> str:
    return ".".join(str(part) for part in path)


def _keyword(kind_name: str) -> str:
    """jsonschema-rs names error kinds in CamelCase; jsonschema uses the keyword itself."""
    return kind_name[:1].lower() + kind_name[1:]


@lru_cache(maxsize=None)
def reference(name: str) -> Any:
    """The jsonschema validator, built once per schema (building the registry is the slow part)."""
    return reference_validator(name)


def fast_findings(name: str, document: Any) -> set[Finding]:
    """Errors of jsonschema-rs as (path, keyword)."""
    return {(dotted(e.instance_path), _keyword(type(e.kind).__name__)) for e in fast_validator(name).iter_errors(document)}


def reference_findings(name: str, document: Any) -> set[Finding]:
    """Errors of jsonschema as (path, keyword)."""
    return {(dotted(e.absolute_path), str(e.validator)) for e in reference(name).iter_errors(document)}


def findings(name: str, document: Any) -> set[Finding]:
    """Both validators' errors, which must be identical."""
    fast = fast_findings(name, document)
    assert fast == reference_findings(name, document), f"validators disagree on {document!r} ({name})"
    return fast


def unknown_keys(name: str, document: Any) -> set[str]:
    """Dotted paths of the keys reported as unknown, by both validators (checked to agree)."""
    fast: set[str] = set()
    for error in fast_validator(name).iter_errors(document):
        if type(error.kind).__name__ == "AdditionalProperties":
            prefix = dotted(error.instance_path)
            fast.update(f"{prefix}.{key}" if prefix else key for key in error.kind.unexpected)
    slow: set[str] = set()
    for error in reference(name).iter_errors(document):
        if error.validator == "additionalProperties":
            prefix = dotted(error.absolute_path)
            allowed = error.schema.get("properties", {})
            slow.update(f"{prefix}.{key}" if prefix else key for key in error.instance if key not in allowed)
    assert fast == slow
    return fast
