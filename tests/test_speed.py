"""Speed without giving up a check: one pass over each YAML file (aliases guarded in it), each
composition's checked values built once, no render/helm/rich on the validate path, and work that
grows linearly with keys, findings and clusters.

The scaling tests count work (Python function calls, deterministic) at two sizes in one process; no
wall-clock thresholds. benchmarks/against_release.py measures the time against the release.
"""

from __future__ import annotations

import cProfile
import dataclasses
import gc
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import meshcharts
from meshcharts.compose import project as project_module
from meshcharts.core.collector import collector_paused
from meshcharts.core.diagnostics import InvalidInput
from meshcharts.load.yamlio import MAX_NODES, load_text
from meshcharts.schema.store import (
    SCHEMA_BASE_URI,
    all_schemas,
    fast_validator,
    load_schema,
    referenced_schemas,
)
from tests.conftest import REPO_ROOT, StackDir

# --- the validate path imports only what validating needs ---------------------------------------

# (the install order is on it: validate reports needs: cycles, issue 7)
NOT_ON_THE_VALIDATE_PATH = ("meshcharts.deploy", "meshcharts.helm", "rich", "pyhelm3", "jsonschema", "ruamel")

_IMPORTS_AFTER = """
import json, sys
from meshcharts.cli import main
try:
    main({arguments!r}, standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("arguments", [["validate"], ["validate", "values/kiali.yaml"], ["explain", "east", "kiali", "auth"]], ids=["stack", "files", "explain"])
def test_validate_path_imports_no_render_helm_rich_or_reference_validator(arguments: list[str]) -> None:
    process = subprocess.run(
        [sys.executable, "-c", _IMPORTS_AFTER.format(arguments=arguments)], cwd=REPO_ROOT, capture_output=True, text=True, check=True, timeout=60
    )
    modules = json.loads(process.stdout.strip().splitlines()[-1])
    assert "meshcharts.compose.project" in modules  # it did validate
    unwanted = [name for name in modules if any(name == prefix or name.startswith(prefix + ".") for prefix in NOT_ON_THE_VALIDATE_PATH)]
    assert unwanted == [], f"{' '.join(arguments)} imported {unwanted}"


def test_render_is_still_part_of_the_api() -> None:
    from meshcharts.api import RenderResult, render_project
    from meshcharts.deploy import render

    assert meshcharts.render_project is render_project is render.render_project
    assert RenderResult is render.RenderResult
    with pytest.raises(AttributeError):
        meshcharts.api.no_such_name  # noqa: B018


# --- aliases are guarded in the one pass that builds the values ------------------------------------


def test_aliases_share_their_anchor_value_and_position() -> None:
    document = load_text("base: &b {x: 1, y: [a, b]}\ncopy: *b\nmerged: {<<: *b, y: [c]}\nlist: &l [1, 2]\nagain: *l\n", "f.yaml")
    assert document["copy"] == {"x": 1, "y": ["a", "b"]}
    assert document["merged"] == {"y": ["c"], "x": 1}
    assert document["again"] == [1, 2]
    assert str(document.key_locations["copy"]) == "f.yaml:2:1"
    assert str(document.value_locations["copy"]) == "f.yaml:1:7"  # an alias's value is the anchor's text
    assert str(document["copy"].key_locations["x"]) == "f.yaml:1:11"
    assert str(document["merged"].key_locations["x"]) == "f.yaml:1:11"


def test_a_wide_alias_fan_out_is_counted_at_its_expanded_size() -> None:
    levels = ["a0: &a0 [" + ", ".join(["x"] * 10) + "]"]
    levels += [f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]" for level in range(1, 7)]
    with pytest.raises(InvalidInput) as refused:  # 10**7 leaves: far over the limit, refused at once
        load_text("\n".join(levels) + "\n", "bomb.yaml")
    assert refused.value.diagnostics[0].rule == "yaml.too-many-nodes"
    assert f"{MAX_NODES:,}" in refused.value.diagnostics[0].message
    fine = load_text("\n".join(levels[:5]) + "\n", "fine.yaml")  # 10**5 leaves: under it
    assert len(fine["a4"]) == 10 and fine["a4"][0] is fine["a3"]


def _validate_in_process(stack: StackDir) -> subprocess.CompletedProcess[str]:
    """The CLI as a process: a loader that loops must fail this test, not hang the suite."""
    return subprocess.run([sys.executable, "-m", "meshcharts", "validate"], cwd=stack.root, capture_output=True, text=True, check=False, timeout=60)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("deployment: &d\n  accessible_namespaces: [*d]\n", "values/kiali.yaml:1:13: an alias refers to the mapping or list that contains it"),
        ("auth: &a [*a]\n", "values/kiali.yaml:1:7: an alias refers to the mapping or list that contains it"),
    ],
    ids=["map", "list"],
)
def test_an_alias_inside_its_own_anchor_is_one_line(minimal_stack: StackDir, content: str, expected: str) -> None:
    minimal_stack.write("values/kiali.yaml", content)
    process = _validate_in_process(minimal_stack)
    assert process.returncode == 1, process.stderr
    lines = [line for line in process.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(expected), process.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [("!!int abc", "'abc' is not a valid !!int"), ("!!float x", "'x' is not a valid !!float"), ("!!bool maybe", "'maybe' is not a valid !!bool")],
    ids=["int", "float", "bool"],
)
def test_an_explicit_scalar_tag_on_text_that_is_none_is_one_line(minimal_stack: StackDir, value: str, expected: str) -> None:
    minimal_stack.write("values/kiali.yaml", f"server:\n  port: {value}\n")
    result = minimal_stack.cli("validate")
    assert result.exit_code == 1, result.output
    assert f"values/kiali.yaml:2:9: invalid value: {expected}" in result.output
    assert "internal error" not in result.output


# --- each composition's checked values are built once ----------------------------------------------


def test_checked_values_are_built_once_per_composition_and_never_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    built: dict[int, int] = {}
    alive: list[Any] = []  # keep every counted tree alive: a freed tree's id could be reused by the next
    original = project_module.to_values

    def counting(node: Any, **options: Any) -> Any:
        if options.get("drop_nulls"):
            alive.append(node)
            built[id(node)] = built.get(id(node), 0) + 1
        return original(node, **options)

    monkeypatch.setattr(project_module, "to_values", counting)
    project = meshcharts.open_project(REPO_ROOT)
    assert meshcharts.validate_project(project).valid
    compositions = project.compose_all()
    assert built and max(built.values()) == 1, "a composition's checked values were built more than once"
    for composition in compositions:  # the readers share one dict: none of them may change it
        assert composition.validation_values() == original(composition.tree, secrets="placeholder", drop_nulls=True)


def test_checked_values_follow_a_new_tree() -> None:
    project = meshcharts.open_project(REPO_ROOT)
    kiali = project.compose("east", "kiali")
    before = kiali.validation_values()
    assert kiali.validation_values() is before
    kiali.tree = project.compose("west", "kiali").tree
    assert kiali.validation_values() is not before
    assert kiali.validation_values() == project.compose("west", "kiali").validation_values()


# --- a validator registers only the schemas it refers to ---------------------------------------------


def _refs_in(node: Any) -> set[str]:
    """The packaged files a schema's ``$ref`` values name, found by walking the parsed schema."""
    if isinstance(node, dict):
        found = {node["$ref"].split("#")[0].removeprefix(SCHEMA_BASE_URI)} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs_in(value) for key, value in node.items() if key != "$ref")) - {""}
    if isinstance(node, list):
        return set().union(*(_refs_in(item) for item in node))
    return set()


@pytest.mark.parametrize("name", sorted(all_schemas()))
def test_each_validator_knows_every_schema_it_refers_to(name: str) -> None:
    closure = set(referenced_schemas(name))
    for member in closure:
        assert _refs_in(load_schema(member)) <= closure, f"{member} refers to a schema the registry of {name} lacks"
    assert fast_validator(name) is not None  # compiles: every $ref resolves


# --- the collector pauses leave it as they found it --------------------------------------------------


def test_collector_pauses_restore_the_collector(minimal_stack: StackDir) -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # an application that keeps it off keeps it off
    finally:
        gc.enable()
    assert minimal_stack.cli("validate").exit_code == 0
    assert gc.isenabled()  # the CLI's one-shot switch ends with the command


# --- work grows linearly -------------------------------------------------------------------------


def _calls(action: Callable[[], object]) -> int:
    """Python function calls ``action`` makes: a measure of work that does not depend on the machine."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        action()
    finally:
        profiler.disable()
    return sum(entry.callcount for entry in profiler.getstats())


def _growth(make: Callable[[Path, int], Callable[[], object]], folder: Path, size: int) -> float:
    """Work at twice ``size`` over work at ``size``; each run in a fresh folder."""
    make(folder / "warm-up", size)()  # imports, schema compilation, caches
    return _calls(make(folder / "double", 2 * size)) / _calls(make(folder / "single", size))


def _kps_stack(root: Path, values: str) -> Path:
    (root / "values").mkdir(parents=True, exist_ok=True)
    (root / "meshcharts.yaml").write_text("name: big\nclusters: {c0: {}}\ncomponents:\n  monitoring: {type: kube-prometheus-stack, version: 88.5.3, namespace: monitoring}\n")
    (root / "values" / "monitoring.yaml").write_text(values)
    return root


def test_validate_work_is_linear_in_unknown_keys(tmp_path: Path) -> None:
    """Every unknown key is a finding; findings were deduplicated by scanning a list (100,000 of them: hours)."""

    def make(root: Path, keys: int) -> Callable[[], object]:
        _kps_stack(root, "".join(f"bogus{index}: {index}\n" for index in range(keys)))
        return lambda: meshcharts.validate_project(meshcharts.open_project(root))

    assert _growth(make, tmp_path, 500) < 2.3


def test_validate_and_render_work_is_linear_in_keys(tmp_path: Path) -> None:
    def make(root: Path, keys: int) -> Callable[[], object]:
        _kps_stack(root, "commonLabels:\n" + "".join(f"  k{index}: v{index}\n" for index in range(keys)))
        return lambda: meshcharts.render_project(meshcharts.open_project(root))

    assert _growth(make, tmp_path, 2000) < 2.3


def test_render_work_is_linear_in_clusters(tmp_path: Path) -> None:
    """The bundled example (Kiali, Jaeger, mesh-extras) with its clusters cloned."""
    text = (REPO_ROOT / "meshcharts.yaml").read_text(encoding="utf-8")
    components = text[text.index("\ncomponents:") :]

    def make(root: Path, clusters: int) -> Callable[[], object]:
        for name in ("kiali", "tracing", "extras"):
            (root / "values").mkdir(parents=True, exist_ok=True)
            (root / "values" / f"{name}.yaml").write_text((REPO_ROOT / "values" / f"{name}.yaml").read_text(encoding="utf-8"))
        spec = "{env: prod, vars: {clusterId: c-%d, registry: mtr.example.com, storageClass: sata}, crds: [ui.cattle.io]}"
        lines = "".join(f"  c{index}: {spec % index}\n" for index in range(clusters))
        (root / "meshcharts.yaml").write_text("name: many\nclusters:\n" + lines + components.lstrip("\n"))
        return lambda: meshcharts.render_project(meshcharts.open_project(root))

    assert _growth(make, tmp_path, 3) < 2.2


class _Counting:
    """Counts the items handed out by iterating a collection: work that a call count does not see."""

    handed_out = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        for item in super().__iter__():  # type: ignore[misc]
            _Counting.handed_out += 1
            yield item


class _CountingDict(_Counting, dict):  # type: ignore[type-arg]
    pass


class _CountingList(_Counting, list):  # type: ignore[type-arg]
    pass


class _CountingTuple(_Counting, tuple):  # type: ignore[type-arg]
    pass


@pytest.mark.parametrize("with_files", [False, True], ids=["stack", "files"])
def test_validate_looks_at_each_cluster_a_bounded_number_of_times(tmp_path: Path, with_files: bool) -> None:
    """A values file per cluster: per composition, neither every file nor every cluster may be scanned."""
    clusters = 120
    lines = ["name: many", "clusters:"] + [f"  c{index}: {{vars: {{clusterId: c-{index}}}}}" for index in range(clusters)]
    lines += ["components:", "  kiali: {type: kiali-server, version: 1.89.3}", "  tracing: {type: rancher-tracing, version: 100.0.0}"]
    lines += ["external:", "  prometheus: {url: 'http://rancher-monitoring-prometheus.cattle-monitoring-system.svc:9090'}"]
    (tmp_path / "meshcharts.yaml").write_text("\n".join(lines) + "\n")
    files = []
    for index in range(clusters):
        path = tmp_path / "values" / "clusters" / f"c{index}" / "kiali.yaml"
        path.parent.mkdir(parents=True)
        path.write_text("auth: {strategy: token}\n")
        files.append(path)
    project = meshcharts.open_project(tmp_path)
    stack = project.stack
    counted = dataclasses.replace(
        stack,
        clusters=_CountingDict(stack.clusters),
        components={name: dataclasses.replace(c, clusters=_CountingTuple(c.clusters)) for name, c in stack.components.items()},
    )
    project.stack = project.layers.stack = counted
    project.layers.files = _CountingList(project.layers.files)
    _Counting.handed_out = 0
    report = meshcharts.validate_project(project, files if with_files else None)
    assert report.valid, report.diagnostics[:3]
    assert _Counting.handed_out < 10 * clusters, f"{_Counting.handed_out} items looked at for {clusters} clusters: a scan per composition?"
