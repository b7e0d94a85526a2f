"""Kubernetes manifests as helm prints and stores them, parsed: a multi-document YAML stream of objects.

Plan reads every deployed release's manifest (helm keeps it in the release record) on every run,
usually without calling helm at all, so this lives apart from :mod:`meshcharts.helm.client` and its
pyhelm3 import.
"""

from __future__ import annotations

from typing import Any

import yaml

from meshcharts.core.diagnostics import Diagnostic, MeshchartsError


class _ManifestLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML as Kubernetes reads it: timestamps stay strings (PyYAML would make them datetimes).

    libyaml's parser where PyYAML has it (every wheel does): plan parses every release's manifest.
    """


_ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_manifests(text: bytes, what: str) -> list[dict[str, Any]]:
    """The objects of a multi-document manifest stream; unreadable YAML is a finding, not a crash."""
    try:
        documents = list(yaml.load_all(text, Loader=_ManifestLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise MeshchartsError(
            Diagnostic(message=f"{what} printed YAML that does not parse{where}: {getattr(exc, 'problem', exc)}", rule="helm.bad-output")
        ) from None
    return [document for document in documents if isinstance(document, dict)]


__all__ = ["parse_manifests"]
