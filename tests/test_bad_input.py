"""Bad input never gives a traceback: one clear line naming file:line:col, and exit 1 or 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import StackDir


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip() and not line.startswith(("ok:", "invalid:"))]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"auth:\n  strategy: [token\n", "values/kiali.yaml:3:1: invalid YAML"),
        (b"auth:\n\tstrategy: token\n", "values/kiali.yaml:2:1: invalid YAML: a tab character"),
        (b"auth:\n  strategy: token\n  strategy: anonymous\n", 'values/kiali.yaml:3:3: duplicate key "strategy" (first set at line 2)'),
        (b"auth:\n  strategy: \xff\xfe\n", "values/kiali.yaml:2:13: is not UTF-8"),
        (b"", "values/kiali.yaml:1:1: file is empty"),
        (b"- auth\n- deployment\n", "values/kiali.yaml:1:1: a values file must be a mapping"),
        (b"auth: !secret x\n", "values/kiali.yaml:1:7: unknown tag !secret"),
        (b"a: 1\n---\nb: 2\n", "values/kiali.yaml:3:1: holds several YAML documents"),
    ],
    ids=["malformed", "tab", "duplicate-key", "not-utf8", "empty", "list", "unknown-tag", "two-documents"],
)
def test_bad_values_file_gives_one_line_with_position(minimal_stack: StackDir, content: bytes, expected: str) -> None:
    minimal_stack.write("values/kiali.yaml", content)
    result = minimal_stack.cli("validate")
    assert result.exit_code == 1
    lines = _lines(result.output)
    assert len(lines) == 1, result.output
    assert lines[0].startswith(expected), lines[0]
    assert "Traceback" not in result.output


def test_alias_bomb_is_refused_at_once(minimal_stack: StackDir) -> None:
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for index in range(1, 10):
        previous, current = chr(96 + index), chr(97 + index)
        levels.append(f"{current}: &{current} [" + ",".join([f"*{previous}"] * 9) + "]")
    minimal_stack.write("values/kiali.yaml", "\n".join(levels) + "\n")
    result = minimal_stack.cli("validate")
    assert result.exit_code == 1
    assert "alias bomb" in result.output


def test_huge_file_is_refused_without_reading_it(minimal_stack: StackDir) -> None:
    path = minimal_stack.root / "values" / "kiali.yaml"
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:  # sparse 50 MB file: refused on its size alone
        handle.truncate(50 * 1024 * 1024)
    result = minimal_stack.cli("validate")
    assert result.exit_code == 1
    assert "values/kiali.yaml: file is 50.0 MiB" in result.output


def test_symlink_loop_is_one_line(minimal_stack: StackDir) -> None:
    values = minimal_stack.root / "values"
    values.mkdir()
    os.symlink(values / "kiali.yaml", values / "kiali.yaml")
    result = minimal_stack.cli("validate")
    assert result.exit_code == 2  # a file-system error, not a verdict on the values
    lines = _lines(result.output)
    assert len(lines) == 1 and lines[0].startswith("values/kiali.yaml: cannot read"), result.output


@pytest.mark.parametrize(
    ("stack_text", "code", "expected"),
    [
        ("", 2, "meshcharts.yaml:1:1: file is empty"),
        ("- a\n", 2, "meshcharts.yaml:1:1: the stack file must be a mapping"),
        ("name: demo\nclusters: {east: {}}\ncomponents:\n  kiali: {type: kiali-servr, version: 1.89.3}\n", 2, 'meshcharts.yaml:4:17: kiali: type: unknown component type "kiali-servr"'),
        ("name: demo\nclusters: {east: {}}\ncomponents:\n  kiali: {type: kiali-server, version: one}\n", 2, "meshcharts.yaml:4:40: kiali: version: 'one' is not a valid chart version"),
        ("name: demo\nclusters: {east: {}}\ncomponents:\n  kiali: {type: kiali-server, version: 1.89.3, namepsace: x}\n", 2, 'meshcharts.yaml:4:48: kiali: namepsace: unknown key "namepsace" (did you mean "namespace"?)'),
        ("name: demo\nclusters: {east: {}}\ncomponents:\n  kiali: {type: kiali-server, version: 1.89.3, clusters: [eats]}\n", 2, 'meshcharts.yaml:4:59: kiali: clusters[0]: cluster "eats" is not declared under clusters: (did you mean "east"?)'),
        ("name: demo\nclusters: {east: {}}\ncomponents:\n  kiali: {type: kiali-server}\n", 2, "meshcharts.yaml:4:3: kiali: version: version is required"),
        ("name: demo\nclusters: {east: {}, east: {}}\ncomponents: {}\n", 2, 'meshcharts.yaml:2:22: duplicate key "east"'),
    ],
    ids=["empty", "list", "unknown-type", "bad-version", "unknown-key", "unknown-cluster", "no-version", "duplicate-cluster"],
)
def test_bad_stack_file(stack_dir: StackDir, stack_text: str, code: int, expected: str) -> None:
    stack_dir.write("meshcharts.yaml", stack_text)
    result = stack_dir.cli("validate")
    assert result.exit_code == code, result.output
    assert _lines(result.output)[0].startswith(expected), result.output


def test_no_stack_found_is_usage_error(stack_dir: StackDir) -> None:
    result = stack_dir.cli("validate")
    assert result.exit_code == 2
    assert "no meshcharts.yaml here or in any parent folder" in result.output


def test_real_process_prints_no_traceback(minimal_stack: StackDir) -> None:
    """The installed entry point, as a user runs it, on a broken file."""
    minimal_stack.write("values/kiali.yaml", "auth: [\n")
    process = subprocess.run(
        [sys.executable, "-m", "meshcharts", "validate"], cwd=minimal_stack.root, capture_output=True, text=True, check=False
    )
    assert process.returncode == 1
    assert "Traceback" not in process.stderr + process.stdout
    assert process.stderr.startswith("values/kiali.yaml:2:1: invalid YAML")


def test_json_output_for_config_errors(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", "name: demo\nclusters: {east: {}}\ncomponents:\n  kiali: {type: kiali-servr, version: 1.0.0}\n")
    result = stack_dir.cli("validate", "--output", "json")
    assert result.exit_code == 2
    import json

    document = json.loads(result.output)
    assert document["valid"] is False
    error = document["errors"][0]
    assert set(error) >= {"file", "line", "column", "cluster", "component", "path", "message", "rule"}
    assert (error["file"], error["line"], error["column"], error["component"], error["rule"]) == ("meshcharts.yaml", 4, 17, "kiali", "stack.unknown-type")


def test_unreadable_directory_named_like_a_file(minimal_stack: StackDir) -> None:
    (minimal_stack.root / "values" / "kiali.yaml").mkdir(parents=True)
    result = minimal_stack.cli("validate")
    assert result.exit_code == 2  # a file-system error, not a verdict on the values
    assert "values/kiali.yaml: is not a regular file" in result.output


def test_paths_are_shown_relative_to_where_the_user_is(minimal_stack: StackDir, monkeypatch: pytest.MonkeyPatch) -> None:
    minimal_stack.write("values/kiali.yaml", "auth: [\n")
    from click.testing import CliRunner

    from meshcharts.cli import main

    monkeypatch.chdir(minimal_stack.root.parent)
    result = CliRunner().invoke(main, ["validate", "--stack", str(Path(minimal_stack.root.name))])
    assert f"{minimal_stack.root.name}/values/kiali.yaml:2:1" in result.output


def test_a_misspelt_key_set_to_null_is_an_unknown_key(minimal_stack: StackDir) -> None:
    """``null`` deletes a chart default: on a key the chart does not have it deletes nothing, a silent
    typo in Helm. The schema never saw such keys (nulls are dropped before it judges), so they passed."""
    minimal_stack.write(
        "values/kiali.yaml",
        "deploymnet: null\nauth:\n  strategi: null\n  strategy: anonymous\n"
        "deployment:\n  resources: null\n  pod_annotations: {sidecar.istio.io/inject: null}\n",
    )
    result = minimal_stack.cli("validate")
    assert result.exit_code == 1, result.output
    lines = _lines(result.output)
    assert 'values/kiali.yaml:1:1: east, west/kiali: deploymnet: unknown key "deploymnet": null there deletes nothing (did you mean "deployment"?)' in lines
    assert 'values/kiali.yaml:3:3: east, west/kiali: auth.strategi: unknown key "strategi": null there deletes nothing (did you mean "strategy"?)' in lines
    # A known key, and a key of a free-form map, may be deleted: only the two typos are findings.
    assert len([line for line in lines if "deletes nothing" in line]) == 2, result.output
    assert "resources" not in result.output and "inject" not in result.output
