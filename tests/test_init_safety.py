"""``init`` never overwrites a user's files unasked, never writes outside the folder it was given, and
never writes a stack its own schema rejects; ``render --cluster ''`` is a usage error."""

from __future__ import annotations

import pytest

from meshcharts.core.diagnostics import ConfigError
from tests.conftest import StackDir
from tests.fs_helpers import error_lines, tree


def test_render_with_an_empty_cluster_name_is_a_usage_error(minimal_stack: StackDir) -> None:
    result = minimal_stack.cli("render", "--cluster", "")
    assert result.exit_code == 2, result.output
    assert error_lines(result.output) == ["--cluster needs a cluster name: east, west"]
    assert not (minimal_stack.root / "charts-out").exists()


def test_render_api_refuses_an_unknown_cluster(minimal_stack: StackDir) -> None:
    import meshcharts

    project = meshcharts.open_project(minimal_stack.root)
    with pytest.raises(ConfigError, match='no cluster "nowhere"'):
        meshcharts.render_project(project, "nowhere")
    assert not (minimal_stack.root / "charts-out").exists()
