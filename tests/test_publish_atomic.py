"""A domain's database swap and the publication of its interface succeed or fail together.

Each test rebuilds core with new data (a seed row) and a new interface (a description), while
something real in its state folder stops the publication; a failure that cannot happen as root
(chmod) would prove nothing here, so the state folder holds a file or a folder in the way."""
from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from conftest import WORKERS, edit, mesh_cli
from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.state.staging import replace_together

TIME = r"\[\d+\.\d+s\]"
AS_BEFORE = ("; its database and interface are as they were before it started: fix the cause and build it "
             "again")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def change_core(root: Path) -> None:
    """New data and a new interface, so a swap or a publication would show."""
    seed = root / "domains/core/seeds/raw_people.csv"
    seed.write_text(seed.read_text() + "3,Cid\n")
    edit(root, "domains/core/models/schema.yml", "  - name: dim_people\n    access: public\n",
         "  - name: dim_people\n    description: People, one row each.\n    access: public\n")


def block_fingerprint(root: Path) -> Path:
    """A folder where fingerprint.json goes: the last file to move into place cannot be replaced,
    after the database and interface before it could have been."""
    fingerprint = root / ".mesh/state/core/fingerprint.json"
    fingerprint.unlink()
    (fingerprint / "kept").mkdir(parents=True)
    return fingerprint


def block_state_folder(root: Path) -> Path:
    """A file where core's state folder goes: nothing can be published at all."""
    folder = root / ".mesh/state/core"
    shutil.rmtree(folder)
    folder.write_text("not a folder\n")
    return folder


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of core's database and of every file of its published state."""
    files = [root / ".mesh/warehouse/core.duckdb", root / ".mesh/warehouse/core.duckdb.wal"]
    state = root / ".mesh/state/core"
    files += sorted(state.rglob("*")) if state.is_dir() else [state]
    return {str(p.relative_to(root)): digest(p) if p.is_file() else "folder" for p in files if p.exists()}


@pytest.mark.parametrize("block, reason", [
    (block_fingerprint, "cannot replace {path}: Is a directory"),
    (block_state_folder, "cannot create the folder {path}: File exists"),
], ids=["after-the-swap", "before-the-swap"])
def test_a_publication_that_fails_leaves_database_and_interface_as_they_were(rebuilt_basic: Path, block, reason) -> None:
    change_core(rebuilt_basic)
    path = block(rebuilt_basic)
    before = snapshot(rebuilt_basic)
    interface = Mesh.load(rebuilt_basic).interface("core")
    result = Mesh.load(rebuilt_basic).build(BuildOptions(select=("core+",)))
    assert [(d.domain, d.status, d.message) for d in result.domains] == [
        ("core", "error", "domain 'core' built, but publishing its interface failed: " + reason.format(path=path)
         + AS_BEFORE),
        ("sales", "skipped", "skipped because upstream domain 'core' did not build")]
    assert snapshot(rebuilt_basic) == before
    assert Mesh.load(rebuilt_basic).interface("core") == interface
    warehouse = rebuilt_basic / ".mesh/warehouse"
    assert sorted(p.name for p in warehouse.iterdir()) == [".building", "core.duckdb", "ops.duckdb", "sales.duckdb"]
    assert list((warehouse / ".building").iterdir()) == []
    assert sorted(p.name for p in (rebuilt_basic / ".mesh/state").iterdir()) == ["core", "ops", "sales"]
    # Once the way is clear, the same build goes through and publishes the new interface.
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    again = Mesh.load(rebuilt_basic).build(BuildOptions(select=("core+",)))
    assert [(d.domain, d.status) for d in again.domains] == [("core", "success"), ("sales", "success")]
    assert digest(warehouse / "core.duckdb") != before[".mesh/warehouse/core.duckdb"]
    people = next(m for m in Mesh.load(rebuilt_basic).interface("core")["models"] if m["name"] == "dim_people")
    assert people["description"] == "People, one row each."
    assert sorted(p.name for p in (rebuilt_basic / ".mesh/state/core").iterdir()) == [
        "fingerprint.json", "interface.json", "manifest.json"]


def test_mesh_build_reports_the_failed_publication(rebuilt_basic: Path) -> None:
    change_core(rebuilt_basic)
    path = block_fingerprint(rebuilt_basic)
    before = snapshot(rebuilt_basic)
    result = mesh_cli("build", "--select", "core+", "--project-dir", str(rebuilt_basic))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[:3] == ["mesh check: 0 errors, 1 warning in 2 domains",
                         f"Building 2 domains (core, sales) with {WORKERS}", "START core"]
    assert re.fullmatch(rf"ERROR core         1 seed, 3 models, 3 tests  {TIME}", lines[3]), lines[3]
    assert lines[4] == "SKIP  sales        skipped because upstream domain 'core' did not build"
    assert re.fullmatch(r"Done in \d+\.\d+s: 0 succeeded, 1 failed, 1 skipped", lines[5]), lines[5]
    assert len(lines) == 6
    assert result.stderr == (f"Error: domain 'core' built, but publishing its interface failed: cannot replace {path}: "
                             f"Is a directory{AS_BEFORE}\n")
    assert snapshot(rebuilt_basic) == before


def test_replace_together_puts_back_every_target_when_one_step_fails(tmp_path: Path) -> None:
    old, gone, blocked = tmp_path / "old.txt", tmp_path / "new.txt", tmp_path / "blocked"
    old.write_text("old\n")
    blocked.mkdir()
    news = [tmp_path / f"{n}.tmp" for n in ("a", "b", "c")]
    for path in news:
        path.write_text(f"{path.stem}\n")
    with pytest.raises(OSError) as err:
        replace_together([(news[0], old), (news[1], gone), (news[2], blocked)])
    assert str(err.value) == f"cannot replace {blocked}: Is a directory"
    # old.txt has its contents back, new.txt (which did not exist) is gone again, nothing is left aside
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked", "c.tmp", "old.txt"]
    assert old.read_text() == "old\n"
    replace_together([(news[2], old), (None, tmp_path / "blocked" / "missing")])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocked", "old.txt"]
    assert old.read_text() == "c\n"
