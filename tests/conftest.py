"""Fixture meshes are copied to a temp folder before anything runs in them."""
from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

# pytest-xdist runs one test per core (`-n auto`, pyproject.toml), so each test's builds run one
# domain at a time unless the test says otherwise (`--workers`): more would only add dbt worker
# processes, each importing dbt, on cores the other tests use. Set MESH_WORKERS to run the suite
# with another default (it passes with 1 and with 8). Set before mesh_cli is imported
# (`Mesh.build()`'s default options are made at import), so that every build of the session
# and every `mesh` the tests start see it.
os.environ.setdefault("MESH_WORKERS", "1")

import pytest
from click.testing import CliRunner, Result

from mesh_cli.cli.main import cli
from mesh_cli.app import Mesh, default_workers

# `mesh build` runs $MESH_WORKERS domains at once by default; its plan line says how many.
WORKERS = f"{default_workers()} worker{'s' if default_workers() != 1 else ''}"

FIXTURES = Path(__file__).parent / "fixtures"
_IGNORE = shutil.ignore_patterns("target", "logs", "dbt_packages", ".mesh", ".user.yml", "*.duckdb*")


def copy_fixture(name: str, dest: Path) -> Path:
    root = dest / name
    shutil.copytree(FIXTURES / name, root, ignore=_IGNORE)
    return root


def ctrl_c_reaches_it() -> None:
    """`preexec_fn` of a child a test sends Ctrl-C (SIGINT): a run started in the background by a
    shell without job control (`nohup pytest &`) inherits SIGINT ignored, and a Python that starts
    with it ignored never raises KeyboardInterrupt. A terminal's Ctrl-C always reaches mesh."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def edit(root: Path, rel: str, old: str, new: str) -> None:
    """Replace `old` (which must be there) with `new` in a file of a copied fixture."""
    path = root / rel
    text = path.read_text()
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new))


def mesh_cli(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def basic(tmp_path: Path) -> Path:
    """A fresh, never-built copy of the basic mesh (core <- sales, ops alone)."""
    return copy_fixture("basic", tmp_path)


@pytest.fixture(scope="session")
def built_basic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The basic mesh built once per session, for tests that only read it."""
    root = copy_fixture("basic", tmp_path_factory.mktemp("built"))
    result = Mesh.load(root).build()
    assert result.success, result.to_dict()
    return root


@pytest.fixture
def rebuilt_basic(built_basic: Path, tmp_path: Path) -> Path:
    """A private copy of the built basic mesh, state and warehouse included, to mutate."""
    root = tmp_path / "basic"
    shutil.copytree(built_basic, root, ignore=shutil.ignore_patterns("*.duckdb.wal"))
    return root
