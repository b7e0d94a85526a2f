"""Every rule meshcharts can emit is explained in docs/validation.md.

Scripts filter on ``rule`` and people look it up; a rule that fires but is documented nowhere is a dead
end. The rules are collected from the source (its syntax tree, not a hand-kept list): string literals
passed as ``rule=``, or in the position of a parameter or dataclass field named ``rule``, assigned to or
looped into a variable named ``rule``, including the module constants those expressions name. An
f-string rule (``f"schema.{keyword}"``) must have its literal prefix documented.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "meshcharts"
DOC = REPO_ROOT / "docs" / "validation.md"
RULE_ID = re.compile(r"^[a-z]+\.[a-z0-9]+(-[a-z0-9]+)*$")
RULE_PREFIX = re.compile(r"^[a-z]+\.[a-z0-9-]*$")


def _trees() -> dict[Path, ast.Module]:
    return {path: ast.parse(path.read_text(encoding="utf-8")) for path in sorted(PACKAGE.rglob("*.py"))}


def _rule_positions(trees: dict[Path, ast.Module]) -> dict[str, int]:
    """Callable name -> the positional index of its ``rule`` parameter (functions) or field (dataclasses)."""
    positions: dict[str, int] = {}
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names = [arg.arg for arg in node.args.posonlyargs + node.args.args]
                names = names[1:] if names[:1] in (["self"], ["cls"]) else names
                if "rule" in names:
                    positions[node.name] = names.index("rule")
            elif isinstance(node, ast.ClassDef):
                fields = [item.target.id for item in node.body if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)]
                if "rule" in fields:
                    positions[node.name] = fields.index("rule")
    return positions


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    found: dict[str, ast.expr] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            found[node.target.id] = node.value
    return found


def _strings(expression: ast.expr, constants: dict[str, ast.expr], seen: frozenset[str] = frozenset()) -> Iterator[str]:
    """String constants in an expression (f-strings as their literal prefix plus ``*``), following module constants."""
    for node in ast.walk(expression):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            yield f"{node.values[0].value}*"
        elif isinstance(node, ast.Name) and node.id in constants and node.id not in seen:
            yield from _strings(constants[node.id], constants, seen | {node.id})


def _names(target: ast.expr) -> set[str]:
    return {node.id for node in ast.walk(target) if isinstance(node, ast.Name)}


def emitted_rules() -> dict[str, set[str]]:
    """Rule id (or ``prefix*``) -> the modules that emit it."""
    trees = _trees()
    positions = _rule_positions(trees)
    found: dict[str, set[str]] = {}
    for path, tree in trees.items():
        constants = _module_constants(tree)
        for node in ast.walk(tree):
            sources: list[ast.expr] = []
            if isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else ""
                sources += [keyword.value for keyword in node.keywords if keyword.arg == "rule"]
                if name in positions and len(node.args) > positions[name]:
                    sources.append(node.args[positions[name]])
            elif isinstance(node, ast.Assign) and any("rule" in _names(target) for target in node.targets):
                sources.append(node.value)
            elif isinstance(node, ast.For) and "rule" in _names(node.target):
                sources.append(node.iter)
            for source in sources:
                for text in _strings(source, constants):
                    if RULE_ID.match(text) or (text.endswith("*") and RULE_PREFIX.match(text[:-1])):
                        found.setdefault(text, set()).add(path.relative_to(REPO_ROOT).as_posix())
    return found


def test_the_collector_finds_rules_of_every_kind_of_source() -> None:
    rules = emitted_rules()
    assert "schema.unknown-key" in rules  # rule= keyword
    assert "kiali.removed-key" in rules  # KeyRule's positional rule field
    assert "wiring.monitor-not-selected" in rules  # a helper's positional rule parameter
    assert "helm.cancelled" in rules  # a module table looped into `rule`
    assert "schema.*" in rules and "generate.*" in rules  # f-strings
    assert len(rules) > 80


def test_every_rule_that_can_fire_is_in_docs_validation_md() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = sorted(
        f"{rule} (from {', '.join(sorted(modules))})"
        for rule, modules in emitted_rules().items()
        if (f"`{rule[:-1]}" not in text if rule.endswith("*") else f"`{rule}`" not in text)
    )
    assert not missing, "rules that fire but docs/validation.md does not explain:\n" + "\n".join(missing)
