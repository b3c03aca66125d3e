"""How many domains build at once by default: $MESH_WORKERS, else the cores this process may use."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import mesh_cli
from mesh_cli.core.errors import ConfigError
from mesh_cli.app import BuildOptions, default_workers


def test_default_is_the_cores_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MESH_WORKERS", raising=False)
    assert default_workers() == len(os.sched_getaffinity(0))


def test_mesh_workers_sets_the_default(basic: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESH_WORKERS", "1")
    assert (default_workers(), BuildOptions().workers) == (1, 1)
    result = mesh_cli("build", "--project-dir", str(basic), "--skip-checks")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == "Building 3 domains (core, ops, sales) with 1 worker"


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_a_bad_mesh_workers_is_a_usage_error(basic: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("MESH_WORKERS", value)
    message = (f"$MESH_WORKERS={value}: must be a whole number of at least 1; "
               "set MESH_WORKERS to the number of domains to build at once, or unset it")
    with pytest.raises(ConfigError) as raised:
        default_workers()
    assert raised.value.message == message
    result = mesh_cli("build", "--project-dir", str(basic))
    assert (result.exit_code, result.stderr) == (2, f"Error: {message}\n")
