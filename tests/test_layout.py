"""The `.mesh/` folder and the environment variables mesh sets are spelled in core/layout.py only."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mesh_cli.core import layout
from mesh_cli.core.layout import Layout, find_mesh_root, state_root

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*(ROOT / "mesh_cli").rglob("*.py"), ROOT / "dbt_mesh_plugin.py"])
LAYOUT = ROOT / "mesh_cli" / "core" / "layout.py"
_ENV = re.compile(r"MESH_[A-Z_]+")


def _spellings(path: Path) -> list[str]:
    """String constants that spell the `.mesh` folder or a mesh variable as code uses them: the
    folder itself or a path under it, a variable's bare name. Prose that mentions them (messages,
    docstrings, help) names them for the reader and is left alone."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if text == ".mesh" or text.startswith(".mesh/") or _ENV.fullmatch(text):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text!r}")
    return sorted(found)


def test_only_the_layout_spells_the_folder_and_the_variables() -> None:
    assert [hit for path in SOURCES if path != LAYOUT for hit in _spellings(path)] == []


def test_the_layout_spells_them() -> None:   # the scan above would find them
    spelled = {hit.split(": ", 1)[1] for hit in _spellings(LAYOUT)}
    assert {"'.mesh'", "'MESH_ROOT'", "'MESH_UPSTREAMS'", "'MESH_STATE_DIR'", "'MESH_WORKERS'"} <= spelled


def test_the_folders_of_a_mesh(tmp_path: Path) -> None:
    at = Layout(tmp_path)
    mesh = tmp_path / ".mesh"
    assert (at.base, at.state, at.check, at.logs, at.cache, at.profiles, at.docs, at.history, at.run_results) == (
        mesh, mesh / "state", mesh / "check", mesh / "logs", mesh / "cache", mesh / "profiles", mesh / "docs",
        mesh / "history.sqlite", mesh / "run_results.json")
    assert (at.domain_state("core"), at.domain_state("core", check=True)) == (mesh / "state/core", mesh / "check/core")


def test_the_state_dbt_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(layout.STATE_ENV, raising=False)
    assert state_root(tmp_path) == tmp_path / ".mesh/state"
    monkeypatch.setenv(layout.STATE_ENV, str(tmp_path / "elsewhere"))   # `mesh check` parses into its own
    assert state_root(tmp_path) == tmp_path / "elsewhere"


def test_the_mesh_a_dbt_process_belongs_to(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(layout.ROOT_ENV, raising=False)
    project = tmp_path / "domains" / "core"
    project.mkdir(parents=True)
    assert find_mesh_root(project) is None   # no published state above it: the plugin stays inert
    Layout(tmp_path).state.mkdir(parents=True)
    assert find_mesh_root(project) == tmp_path
    monkeypatch.setenv(layout.ROOT_ENV, str(tmp_path / "other"))
    assert find_mesh_root(project) == tmp_path / "other"
