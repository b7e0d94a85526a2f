"""The first run of a preset that generates Istio's addons says the one command that makes it valid.

The requirement stays (the chart is copied from the user's Istio release), but ``init`` and ``validate``
now name the Istio release, where it must be unpacked and the command that unpacks it there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from meshcharts.components.istio_addons import missing_source_message, unpack_command
from tests.conftest import StackDir

ADDONS = Path(__file__).parent / "fixtures" / "addons" / "istio-1.99.0"

PRESETS = [("kube-prometheus", "1.13.1", "meshcharts.yaml:15:3: lab/addons"), ("existing-monitoring", "1.23.0", "meshcharts.yaml:10:3: homelab/addons")]


@pytest.mark.parametrize(("preset", "istio", "where"), PRESETS)
def test_init_and_validate_say_the_one_command(stack_dir: StackDir, preset: str, istio: str, where: str) -> None:
    result = stack_dir.cli("init", "lab", "--preset", preset)
    assert result.exit_code == 0
    lab = stack_dir.root / "lab"
    command = f"curl -sL https://istio.io/downloadIstio | ISTIO_VERSION={istio} sh -"
    assert (
        f"note: component addons is generated from Istio {istio}'s samples/addons, expected at istio-{istio}/samples/addons; "
        f"unpack that release there with: cd {lab.resolve()} && {command} (or, with one you have, run init again with --addons-source PATH --force)"
    ) in result.output.splitlines()
    validated = StackDir(lab).cli("validate")
    assert validated.exit_code == 1
    assert (
        f"{where}: source: istio-{istio}/samples/addons does not exist: the chart is generated from Istio {istio}'s samples/addons; "
        f"to unpack that release there, run beside meshcharts.yaml: {command}"
    ) in validated.output.splitlines()


def test_the_command_fills_source_once_run(stack_dir: StackDir) -> None:
    """What the script makes (istio-<version>/ in the folder it runs in) is what source: names."""
    stack_dir.cli("init", "lab", "--preset", "kube-prometheus")
    lab = StackDir(stack_dir.root / "lab")
    shutil.copytree(ADDONS, lab.root / "istio-1.13.1")  # what `curl ... | ISTIO_VERSION=1.13.1 sh -` unpacks there
    document = json.loads(lab.cli("validate", "-o", "json").output)
    assert [e for e in document["errors"] if e["rule"] == "addons.source"] == []


@pytest.mark.parametrize(
    ("source", "folder", "new_source"),
    [
        ("istio-1.13.1/samples/addons", ".", None),
        ("vendor/istio-1.13.1/samples/addons", "vendor", None),
        ("istio/samples/addons", ".", "istio-1.13.1/samples/addons"),
        ("/opt/istio-1.13.1/samples/addons", ".", "istio-1.13.1/samples/addons"),
    ],
)
def test_where_to_run_the_download(source: str, folder: str, new_source: str | None) -> None:
    where, command, replacement = unpack_command("1.13.1", source)
    assert (str(where), replacement) == (folder, new_source)
    assert command == "curl -sL https://istio.io/downloadIstio | ISTIO_VERSION=1.13.1 sh -"


def test_a_source_the_script_does_not_make_says_what_to_write() -> None:
    assert missing_source_message("1.13.1", "istio/samples/addons").endswith(
        "run beside meshcharts.yaml: curl -sL https://istio.io/downloadIstio | ISTIO_VERSION=1.13.1 sh -, then set source: istio-1.13.1/samples/addons"
    )
    assert "run beside meshcharts.yaml: cd vendor && curl" in missing_source_message("1.13.1", "vendor/istio-1.13.1/samples/addons")
