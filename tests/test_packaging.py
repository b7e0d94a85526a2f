"""An installed wheel must work like a checkout: schemas, presets and chart templates ship inside it."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from meshcharts.presets.scaffold import preset_names
from meshcharts.schema.store import all_schemas
from tests.conftest import REPO_ROOT


def test_wheel_carries_schemas_presets_and_templates(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO_ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("meshcharts-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for schema in all_schemas():
        assert f"meshcharts/schemas/{schema}" in names
    for preset in preset_names():
        assert f"meshcharts/presets/{preset}/meshcharts.yaml" in names
    assert any(name.startswith("meshcharts/charts/templates/mesh-extras/") for name in names)
    # A sandbox started from a wheel install seeds the CRDs Rancher and rancher-monitoring bring.
    assert {"meshcharts/sandbox/crds/ui.cattle.io.yaml", "meshcharts/sandbox/crds/monitoring.coreos.com.yaml"} <= names
    # ... and the Go module it builds the control plane from.
    assert {"meshcharts/sandbox/gobuild/go.mod", "meshcharts/sandbox/gobuild/go.sum"} <= names
    assert not any(name.startswith(("tests/", "values/")) for name in names)
