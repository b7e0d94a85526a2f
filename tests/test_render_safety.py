"""``render`` writes and deletes only inside its output folder, and only what it wrote itself.

Each case is a stack an attacker (or an accident) could commit: output folders that are links leading
out, a cluster folder meshcharts did not write, values files and layer folders linked from outside the
stack, leftovers of a killed render, a swap that fails half-way. Every refusal is one line, exit 2, and
the tree outside the output is byte-for-byte what it was.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from meshcharts.deploy import outdir
from tests.conftest import MINIMAL_STACK, REPO_ROOT, StackDir
from tests.fs_helpers import error_lines, tree


@pytest.fixture()
def stack(tmp_path: Path) -> StackDir:
    """The minimal stack in ``tmp_path/stack``, with a ``tmp_path/outside`` folder holding a user's files."""
    stack = StackDir(tmp_path / "stack")
    stack.write("meshcharts.yaml", MINIMAL_STACK)
    outside = tmp_path / "outside"
    (outside / "east").mkdir(parents=True)
    (outside / "east" / "precious.txt").write_text("the user's file\n")
    (outside / "kiali.yaml").write_text("auth: {strategy: anonymous}\n")
    return stack


def _outside(stack: StackDir) -> Path:
    return stack.root.parent / "outside"


def _refused(stack: StackDir, *args: str, expected: str) -> None:
    """Render is refused with one line starting ``expected``, exit 2, and nothing anywhere changed."""
    before = tree(stack.root.parent)
    result = stack.cli("render", *args)
    assert result.exit_code == 2, result.output
    lines = error_lines(result.output)
    assert len(lines) == 1 and lines[0].startswith(expected), result.output
    assert tree(stack.root.parent) == before


def test_charts_out_linked_outside_the_stack_is_refused(stack: StackDir) -> None:
    (stack.root / "charts-out").symlink_to(_outside(stack), target_is_directory=True)
    _refused(stack, expected="charts-out: is a link to")


def test_a_cluster_folder_linked_outside_is_refused(stack: StackDir) -> None:
    (stack.root / "charts-out").mkdir()
    (stack.root / "charts-out" / "east").symlink_to(_outside(stack) / "east", target_is_directory=True)
    _refused(stack, expected="charts-out/east: is a link")


def test_a_cluster_folder_linked_inside_the_stack_is_refused_too(stack: StackDir) -> None:
    """A link is never meshcharts' own output, wherever it leads: render neither follows nor deletes it."""
    (stack.root / "keep").mkdir()
    (stack.root / "charts-out").mkdir()
    (stack.root / "charts-out" / "east").symlink_to(stack.root / "keep", target_is_directory=True)
    _refused(stack, expected="charts-out/east: is a link")


def test_out_through_a_parent_link_leading_outside_is_refused(stack: StackDir) -> None:
    (stack.root / "build").symlink_to(_outside(stack), target_is_directory=True)
    _refused(stack, "--out", "build/charts", expected="build: is a link to")


def test_out_named_outside_the_stack_is_used_but_not_escaped(stack: StackDir, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    result = stack.cli("render", "--out", str(elsewhere), "--cluster", "west")
    assert result.exit_code == 0, result.output
    assert (elsewhere / "west" / "releases.yaml").is_file()
    (elsewhere / "east").symlink_to(_outside(stack) / "east", target_is_directory=True)
    _refused(stack, "--out", str(elsewhere), expected=f"{elsewhere / 'east'}: is a link")


def test_a_cluster_folder_meshcharts_did_not_write_is_never_deleted(stack: StackDir) -> None:
    stack.write("charts-out/east/notes.md", "my notes\n")
    _refused(stack, expected="charts-out/east: exists and was not written by meshcharts render")


def test_a_file_where_the_cluster_folder_goes_is_refused(stack: StackDir) -> None:
    stack.write("charts-out/east", "a file\n")
    _refused(stack, expected="charts-out/east: is a file")


def test_rendered_folders_are_marked_and_replaced_whole(stack: StackDir) -> None:
    assert stack.cli("render").exit_code == 0
    marker = stack.root / "charts-out" / "east" / outdir.MARKER
    assert marker.read_text().startswith(outdir.MARKER_TEXT)
    stack.write("charts-out/east/stale.yaml", "left from an older render\n")
    stack.write("charts-out/README.md", "the user's notes beside the cluster folders\n")
    assert stack.cli("render").exit_code == 0
    assert not (stack.root / "charts-out" / "east" / "stale.yaml").exists()
    assert (stack.root / "charts-out" / "README.md").read_text() == "the user's notes beside the cluster folders\n"
    assert sorted(path.name for path in (stack.root / "charts-out").iterdir()) == ["README.md", "east", "west"]


def test_leftovers_of_a_killed_render_are_cleaned_up(stack: StackDir) -> None:
    assert stack.cli("render").exit_code == 0
    out = stack.root / "charts-out"
    shutil.copytree(out / "east", out / ".east.k1ll3d0x")  # staging of a render killed before its swap
    (out / ".west.empty0_1").mkdir()  # killed right after mkdtemp, before the marker was written
    stack.write("charts-out/.east.n0tours0/mine.txt", "no marker: not meshcharts' folder\n")
    os.replace(out / "west", out / ".west.old")  # killed between the two renames of a swap
    result = stack.cli("render", "--cluster", "east")
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in out.iterdir()) == [".east.n0tours0", "east", "west"]
    assert (out / "west" / "releases.yaml").is_file(), "the previous west output is put back, not lost"


def test_an_interrupted_render_leaves_the_previous_output(stack: StackDir, monkeypatch: pytest.MonkeyPatch) -> None:
    assert stack.cli("render").exit_code == 0
    before = tree(stack.root / "charts-out")

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("meshcharts.deploy.render.dump_values", interrupted)
    result = stack.cli("render")
    assert result.exit_code == 130
    assert tree(stack.root / "charts-out") == before


def test_a_failed_swap_rolls_back(stack: StackDir, monkeypatch: pytest.MonkeyPatch) -> None:
    assert stack.cli("render").exit_code == 0
    before = tree(stack.root / "charts-out")
    stack.write("values/kiali.yaml", "auth: {strategy: anonymous}\n")
    real_replace = os.replace

    def failing_replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        if Path(source).name.startswith(".east.") and not Path(source).name.endswith(".old"):
            raise OSError(28, "No space left on device", str(target))
        real_replace(source, target)

    monkeypatch.setattr(outdir.os, "replace", failing_replace)
    result = stack.cli("render")
    assert result.exit_code == 2, result.output
    lines = error_lines(result.output)
    assert len(lines) == 1 and lines[0].startswith("charts-out/east: cannot replace the folder: No space left on device"), result.output
    assert tree(stack.root / "charts-out") == before


def test_values_files_and_layer_folders_linked_from_outside_are_refused(stack: StackDir) -> None:
    outside = _outside(stack)
    (stack.root / "values").mkdir()
    (stack.root / "values" / "kiali.yaml").symlink_to(outside / "kiali.yaml")
    for command in ("validate", "render"):
        result = stack.cli(command)
        assert result.exit_code == 2, result.output
        lines = error_lines(result.output)
        assert len(lines) == 1 and lines[0].startswith("values/kiali.yaml: is a link to a file outside the stack folder"), result.output
    (stack.root / "values" / "kiali.yaml").unlink()
    (stack.root / "values" / "clusters").mkdir()
    (stack.root / "values" / "clusters" / "east").symlink_to(outside, target_is_directory=True)
    result = stack.cli("validate")
    assert result.exit_code == 2
    assert error_lines(result.output)[0].startswith("values/clusters/east: is a link to a folder outside the stack folder")
    (stack.root / "values").rename(stack.root / "values-real")
    (stack.root / "values").symlink_to(outside, target_is_directory=True)
    result = stack.cli("validate")
    assert result.exit_code == 2
    assert error_lines(result.output)[0].startswith("values: is a link to a folder outside the stack folder")
    assert not (stack.root / "charts-out").exists()


def test_links_inside_the_stack_are_followed(stack: StackDir) -> None:
    stack.write("shared/kiali.yaml", "auth: {strategy: anonymous}\n")
    (stack.root / "values").mkdir()
    (stack.root / "values" / "kiali.yaml").symlink_to(Path("..") / "shared" / "kiali.yaml")
    result = stack.cli("explain", "east", "kiali", "auth.strategy")
    assert result.exit_code == 0, result.output
    assert "anonymous" in result.output and "values/kiali.yaml:1:" in result.output


def test_a_stack_file_linked_from_outside_its_folder_is_refused(stack: StackDir, tmp_path: Path) -> None:
    (stack.root / "meshcharts.yaml").rename(tmp_path / "outside" / "meshcharts.yaml")
    (stack.root / "meshcharts.yaml").symlink_to(tmp_path / "outside" / "meshcharts.yaml")
    before = tree(tmp_path)
    result = stack.cli("render")
    assert result.exit_code == 2
    lines = error_lines(result.output)
    assert len(lines) == 1 and lines[0].startswith("meshcharts.yaml: is a link to a file outside its folder"), result.output
    assert tree(tmp_path) == before


def test_dashboard_files_outside_the_stack_are_not_read(stack: StackDir) -> None:
    (_outside(stack) / "board.json").write_text('{"title": "secret-board"}\n')
    extras = "  extras: {type: mesh-extras, namespace: istio-system}\nexternal:\n"
    stack.write("meshcharts.yaml", MINIMAL_STACK.replace("external:\n", extras, 1))
    stack.write("values/extras.yaml", f"monitors: {{enabled: false}}\ndashboards:\n  items:\n    board: {{file: {_outside(stack) / 'board.json'}}}\n")
    result = stack.cli("render")
    assert result.exit_code == 1, result.output
    assert "values/extras.yaml:4:19: east/extras: dashboards.items.board.file:" in result.output
    assert "is outside the stack folder" in result.output
    assert all("secret-board" not in text for text in tree(stack.root).values())


# --- local charts: checked at validate time, recorded relative to releases.yaml ---

LOCAL_CHART_STACK = """\
name: lab
clusters:
  lab: {}
components:
  monitoring:
    type: kube-prometheus-stack
    version: 45.1.1
    namespace: monitoring
    chart: ./kube-prometheus-stack-45.1.1.tgz
"""


def test_a_missing_local_chart_is_an_error_at_its_line(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", LOCAL_CHART_STACK)
    result = stack_dir.cli("validate")
    assert result.exit_code == 1, result.output
    lines = error_lines(result.output)
    assert len(lines) == 1, result.output
    assert lines[0].startswith("meshcharts.yaml:9:12: monitoring: chart: ./kube-prometheus-stack-45.1.1.tgz does not exist"), lines[0]
    assert "helm pull kube-prometheus-stack --repo https://prometheus-community.github.io/helm-charts --version 45.1.1" in lines[0]
    assert stack_dir.cli("render").exit_code == 1
    assert not (stack_dir.root / "charts-out").exists()


def test_a_local_chart_folder_needs_a_chart_yaml(stack_dir: StackDir) -> None:
    stack_dir.write("meshcharts.yaml", LOCAL_CHART_STACK.replace("./kube-prometheus-stack-45.1.1.tgz", "charts/kps/"))
    stack_dir.write("charts/kps/values.yaml", "{}\n")
    result = stack_dir.cli("validate")
    assert result.exit_code == 1
    assert "meshcharts.yaml:9:12: monitoring: chart: charts/kps/ is a folder without Chart.yaml" in result.output


def test_releases_yaml_records_the_local_chart_relative_to_itself(stack_dir: StackDir, tmp_path: Path) -> None:
    stack_dir.write("meshcharts.yaml", LOCAL_CHART_STACK)
    stack_dir.write("kube-prometheus-stack-45.1.1.tgz", b"\x1f\x8b placeholder archive")
    assert stack_dir.cli("validate").exit_code == 0
    result = stack_dir.cli("render", "-o", "json")
    assert result.exit_code == 0, result.output
    folder = stack_dir.root / "charts-out" / "lab"
    recorded = yaml.safe_load((folder / "releases.yaml").read_text())["releases"][0]["chart"]
    assert recorded == "../../kube-prometheus-stack-45.1.1.tgz"
    assert (folder / recorded).resolve() == (stack_dir.root / "kube-prometheus-stack-45.1.1.tgz").resolve()
    assert json.loads(result.output)["clusters"]["lab"][0]["chart"] == recorded
    elsewhere = tmp_path / "gitops" / "out"
    assert stack_dir.cli("render", "--out", str(elsewhere)).exit_code == 0
    recorded = yaml.safe_load((elsewhere / "lab" / "releases.yaml").read_text())["releases"][0]["chart"]
    assert (elsewhere / "lab" / recorded).resolve() == (stack_dir.root / "kube-prometheus-stack-45.1.1.tgz").resolve()


def test_the_kube_prometheus_preset_says_how_to_fetch_its_chart(stack_dir: StackDir) -> None:
    addons = REPO_ROOT / "tests" / "fixtures" / "addons" / "istio-1.99.0"
    result = stack_dir.cli("init", "lab", "--preset", "kube-prometheus", "--addons-source", str(addons))
    assert result.exit_code == 0, result.output
    assert "helm pull kube-prometheus-stack --repo https://prometheus-community.github.io/helm-charts --version 45.1.1" in result.output
    validated = StackDir(stack_dir.root / "lab").cli("validate")
    assert validated.exit_code == 1
    assert "meshcharts.yaml:14:12: monitoring: chart: ./kube-prometheus-stack-45.1.1.tgz does not exist" in validated.output
