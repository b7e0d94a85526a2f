"""``!env`` secrets in an export: never written, each a reference the engine resolves from a Secret.

``apply`` reads a secret from the environment of the machine it runs on; an engine runs elsewhere and
reads Kubernetes Secrets instead. So each release with secrets gets one Secret, named after it, that
the user creates (``export`` lists it with its keys); the exported object points at it:

- Flux: ``valuesFrom`` entries (kind Secret, ``valuesKey`` = the environment variable's name,
  ``targetPath`` = the value's path), so the Secret holds the same values the environment did;
- Fleet: ``helm.valuesFrom`` with a ``secretKeyRef``; Fleet merges the key's content as a values
  document (it has no target path), so the key ``values.yaml`` holds YAML that sets those paths;
- Argo CD: none. Its Application takes Helm values only inline, from files in the source, or from
  parameters, and its own documentation (operator-manual/secret-management.md) directs secrets to
  operators on the destination cluster or to plugins; so an export for Argo CD with a secret is
  refused, naming each one, rather than writing a secret in clear or inventing a pattern.
"""

from __future__ import annotations

import re

from meshcharts.core.diagnostics import Diagnostic, InvalidInput
from meshcharts.gitops.model import ExportRelease, SecretValue

FLEET_KEY = "values.yaml"

#: What Helm's --set path syntax (Flux's targetPath) cannot say inside a key, even escaped.
_UNSAYABLE = re.compile(r"[,=\[\]\\]")


def secret_name(item: ExportRelease) -> str:
    """The Secret that holds one release's ``!env`` values: ``<release>-secret-values``."""
    return f"{item.name}-secret-values"


def env_keys(secrets: tuple[SecretValue, ...]) -> tuple[tuple[str, str], ...]:
    """One key per environment variable (in first-use order), each saying what its value is."""
    seen: dict[str, list[str]] = {}
    for secret in secrets:
        seen.setdefault(secret.env, []).append(secret.path)
    return tuple((env, f"the value of ${env} (what apply reads from the environment), for {', '.join(paths)}") for env, paths in seen.items())


def flux_target_path(item: ExportRelease, secret: SecretValue) -> str:
    """The value's path in Helm's --set syntax: dots inside a key escaped, list items as ``[i]``."""
    text = ""
    for step in secret.steps:
        if isinstance(step, int):
            text += f"[{step}]"
            continue
        if _UNSAYABLE.search(step):
            raise InvalidInput(_diagnostic(item, secret, f"the key {step!r} cannot be written as a Flux targetPath (Helm --set syntax)", "export.secret-path"))
        text += ("." if text else "") + step.replace(".", "\\.")
    return text


def fleet_document_keys(item: ExportRelease) -> tuple[tuple[str, str], ...]:
    """The one key of a release's Secret for Fleet: a values document setting each secret's path."""
    for secret in item.secrets:
        if any(isinstance(step, int) for step in secret.steps):
            raise InvalidInput(
                _diagnostic(
                    item, secret,
                    "is an item of a list; Fleet merges a Secret's values document over the values and would replace the whole list, "
                    "so this secret cannot be exported for Fleet (export --to flux can)",
                    "export.fleet-secret-in-list",
                )
            )
    paths = ", ".join(f"{secret.path} = ${secret.env}" for secret in item.secrets)
    return ((FLEET_KEY, f"a YAML values document setting {paths} (the values apply reads from the environment)"),)


def refuse_argocd(releases: list[ExportRelease]) -> None:
    """Argo CD has no plugin-free way to take one Helm value from a Secret: refuse, one line per secret."""
    problems = [
        _diagnostic(
            item, secret,
            f"!env {secret.env} cannot be exported for Argo CD: an Application takes Helm values only inline, from files in its source "
            "or as parameters, none from a Secret without a plugin, and meshcharts never writes a secret in clear; "
            "set the chart's own existing-Secret option instead, or export --to flux or fleet",
            "export.argocd-secret",
        )
        for item in releases
        for secret in item.secrets
    ]
    if problems:
        raise InvalidInput(problems)


def _diagnostic(item: ExportRelease, secret: SecretValue, message: str, rule: str) -> Diagnostic:
    return Diagnostic(message=message, rule=rule, location=secret.location, cluster=item.cluster, component=item.component, path=secret.path)
