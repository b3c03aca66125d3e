"""Every command has help with an example and a README section; the error edge behaves."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from conftest import mesh_cli
from mesh_cli.cli.main import cli

README = (Path(__file__).parent.parent / "README.md").read_text()


def _leaves(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every runnable command, subcommands of groups included: `("contracts", "diff")`."""
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            if command.invoke_without_command:  # `mesh runs` runs on its own, as well as `mesh runs show`
                found.append(prefix + (name,))
            found += _leaves(command, prefix + (name,))
        else:
            found.append(prefix + (name,))
    return found


COMMANDS = _leaves(cli)


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_command_has_help_with_example_and_readme_section(path: tuple[str, ...]) -> None:
    result = mesh_cli(*path, "--help")
    assert result.exit_code == 0
    assert "Example:" in result.stdout
    assert "--project-dir" in result.stdout
    assert f"### `mesh {' '.join(path)}`" in README


def test_readme_documents_no_command_that_does_not_exist() -> None:
    documented = {line.split("`mesh ")[1].rstrip("`") for line in README.splitlines() if line.startswith("### `mesh ")}
    assert documented == {" ".join(path) for path in COMMANDS}


def test_python_dash_m(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "mesh_cli", "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert (run.returncode, run.stdout) == (0, "mesh, version 0.1.0\n")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    plain = mesh_cli("ls", "--project-dir", str(tmp_path))
    assert "Traceback" not in plain.stderr
    debug = mesh_cli("--debug", "ls", "--project-dir", str(tmp_path))
    assert debug.exit_code == 2
    assert "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.splitlines()[-1].startswith(f"Error: {tmp_path}: no dbt projects found")


def test_usage_error_exits_2() -> None:
    result = mesh_cli("graph", "--format", "png")
    assert result.exit_code == 2
    assert "Invalid value for '--format'" in result.stderr
