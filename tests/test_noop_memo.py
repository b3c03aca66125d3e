"""A no-op `mesh build --changed` is answered again from its memo, before mesh loads, until any
file it read, folder it listed, option or variable changes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import pytest

from mesh_cli.state import noop_memo

NOTHING = "Nothing to build: every selected domain is up to date.\n"
SAFE = noop_memo._SAFE_NS / 1e9 + 0.1

# Python imports this in every process of the run (PYTHONPATH); at exit, the `mesh` process itself
# says whether it loaded the mesh. Its workers import it too, and may exit first: they say nothing.
WATCH = """
import atexit, os, sys
def _said():
    if getattr(getattr(sys.modules["__main__"], "__spec__", None), "name", None) != "mesh_cli.__main__":
        return
    with open(os.environ["MESH_TEST_LOADED"], "a") as log:
        log.write(("loaded" if "mesh_cli.app" in sys.modules else "memo") + "\\n")
atexit.register(_said)
"""


def mesh(tmp_path: Path, *argv: str) -> tuple[subprocess.CompletedProcess, str]:
    """`mesh ARGV` through its entry point, and whether it loaded the mesh or answered from the memo."""
    (tmp_path / "watch").mkdir(exist_ok=True)
    (tmp_path / "watch/sitecustomize.py").write_text(WATCH)
    log = tmp_path / "loaded.txt"
    log.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "watch"), "MESH_TEST_LOADED": str(log)}
    run = subprocess.run([sys.executable, "-m", "mesh_cli", *argv], capture_output=True, text=True, env=env)
    said = log.read_text().splitlines()
    assert len(said) == 1, said   # one `mesh` process, one verdict
    return run, said[0]


def test_a_second_no_op_is_answered_from_the_memo_without_loading_the_mesh(rebuilt_basic: Path,
                                                                           tmp_path: Path) -> None:
    argv = ("build", "--changed", "--project-dir", str(rebuilt_basic))
    first, how = mesh(tmp_path, *argv)
    assert (first.returncode, first.stdout, first.stderr, how) == (0, NOTHING, "", "loaded")
    time.sleep(SAFE)   # the copy's files are newer than the filesystem's clock can be trusted with
    # The first run rewrote a file it had read (the scan cache, keyed by the copy's new paths).
    second, how = mesh(tmp_path, *argv)
    assert (second.returncode, second.stdout, second.stderr, how) == (0, NOTHING, "", "loaded")
    third, how = mesh(tmp_path, *argv)
    assert (third.returncode, third.stdout, third.stderr, how) == (0, NOTHING, "", "memo")
    as_json, how = mesh(tmp_path, *argv, "--format", "json")   # another command line: not that memo
    assert (as_json.returncode, json.loads(as_json.stdout), how) == (
        0, {"success": True, "cancelled": False, "elapsed": 0.0, "domains": []}, "loaded")
    again, how = mesh(tmp_path, *argv, "--format", "json")
    assert (again.stdout, how) == (as_json.stdout, "memo")


def test_after_an_edit_the_changed_domain_builds_and_the_memo_is_not_used(rebuilt_basic: Path,
                                                                          tmp_path: Path) -> None:
    argv = ("build", "--changed", "--project-dir", str(rebuilt_basic))
    mesh(tmp_path, *argv)
    time.sleep(SAFE)
    mesh(tmp_path, *argv)
    assert mesh(tmp_path, *argv)[1] == "memo"   # there is a memo to be wrong with
    model = rebuilt_basic / "domains/ops/models/heartbeat.sql"
    model.write_text(model.read_text().replace("42", "43"))   # same size: mtime and ctime tell
    run, how = mesh(tmp_path, *argv)
    assert (run.returncode, how) == (0, "loaded"), run.stdout + run.stderr
    assert run.stdout.splitlines()[0] == "Changed: ops (its files changed)"
    assert "1 succeeded, 0 failed, 0 skipped" in run.stdout


def test_skip_checks_says_a_warning_so_its_no_op_is_not_kept(rebuilt_basic: Path, tmp_path: Path) -> None:
    time.sleep(SAFE)
    argv = ("build", "--changed", "--skip-checks", "--project-dir", str(rebuilt_basic))
    for _ in range(2):
        run, how = mesh(tmp_path, *argv)
        assert (run.returncode, run.stdout, how) == (0, NOTHING, "loaded")
        assert run.stderr == "Warning: --skip-checks: access, contract and governance checks were NOT run\n"
    assert not (rebuilt_basic / ".mesh/noop.json").exists()


# --- the memo's own rules, from the Python API ------------------------------------------------------

@pytest.fixture
def watched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with a file and a subfolder, read by a watched 'no-op' that is then recorded; the
    clock guard off, since these files are new (the end-to-end tests above wait it out instead)."""
    monkeypatch.setattr(noop_memo, "_SAFE_NS", 0)
    root = tmp_path / "m"
    (root / "models").mkdir(parents=True)
    (root / "models/a.sql").write_text("select 1")
    (root / ".mesh").mkdir()
    (root / ".mesh/noop.json").write_text("")   # a mesh used before: writing it changes no folder
    noop_memo.watch(["build", "--changed", "--project-dir", str(root)], "/", {"MESH_X": "1"}, False)
    (root / "models/a.sql").read_text()
    os.listdir(root / "models")
    try:
        open(root / "missing.yml")
    except FileNotFoundError:
        pass
    assert noop_memo.record(root, "said\n")
    return root


def as_if_long_after(memo: Path) -> None:
    """Move the memo's run an hour ahead: every file it noted is then past the racy guard, so what
    decides is each one's stat(), not its time."""
    memo.write_text(json.dumps({**json.loads(memo.read_text()), "started_ns": time.time_ns() + 3600 * 10**9}))


def replay(root: Path, env: dict[str, str] = {"MESH_X": "1"}, *extra: str) -> object:
    return noop_memo.replay(["build", "--changed", "--project-dir", str(root), *extra], "/", env, False)


def test_replayed_while_nothing_changed(watched: Path) -> None:
    assert replay(watched) == "said\n"
    assert replay(watched, {"MESH_X": "1", "OLDPWD": "/elsewhere", "SHLVL": "3"}) == "said\n"   # a shell's own


@pytest.mark.parametrize("change", [
    "edit", "touch", "add beside", "add in listed", "create looked for", "remove", "variable",
    "dbt variable", "any variable", "option", "corrupt memo", None,
])
def test_not_replayed_after(watched: Path, change: Optional[str]) -> None:
    env = {"MESH_X": "1"}
    extra: tuple[str, ...] = ()
    if change == "edit":
        (watched / "models/a.sql").write_text("select 2")
    elif change == "touch":
        os.utime(watched / "models/a.sql")
    elif change == "add beside":
        (watched / "new.yml").write_text("")       # beside nothing read: the root folder itself
    elif change == "add in listed":
        (watched / "models/b.sql").write_text("")
    elif change == "create looked for":
        (watched / "missing.yml").write_text("")
    elif change == "remove":
        (watched / "models/a.sql").unlink()
    elif change == "variable":
        env = {"MESH_X": "2"}
    elif change == "dbt variable":
        env = {"MESH_X": "1", "DBT_PROFILES_DIR": "/elsewhere"}
    elif change == "any variable":
        env = {"MESH_X": "1", "WAREHOUSE_PATH": "/other.duckdb"}   # a profile may read it with env_var()
    elif change == "option":
        extra = ("--select", "ops")
    memo = watched / ".mesh/noop.json"
    as_if_long_after(memo)
    if change == "corrupt memo":
        memo.write_text(f'{{"format": {noop_memo.FORMAT}, "key"')
    assert replay(watched, env, *extra) == (None if change else "said\n")


def test_the_memo_keeps_no_variable_s_value(tmp_path: Path) -> None:
    root = tmp_path / "m"
    (root / ".mesh").mkdir(parents=True)
    (root / ".mesh/noop.json").write_text("")
    env = {"MESH_PG_PASSWORD_SALES": "pw-8c1f-secret", "PGPASSWORD": "admin-77e2-secret"}
    noop_memo.watch(["build", "--changed", "--project-dir", str(root)], "/", env, False)
    assert noop_memo.record(root, "said\n")
    written = (root / ".mesh/noop.json").read_text()
    assert "pw-8c1f-secret" not in written and "admin-77e2-secret" not in written
    assert "MESH_PG_PASSWORD_SALES" not in written   # not even which variables were set
    as_if_long_after(root / ".mesh/noop.json")
    argv = ["build", "--changed", "--project-dir", str(root)]
    assert noop_memo.replay(argv, "/", env, False) == "said\n"
    assert noop_memo.replay(argv, "/", {**env, "PGPASSWORD": "changed"}, False) is None


def test_a_file_changed_too_recently_for_the_filesystem_clock_is_not_trusted(tmp_path: Path) -> None:
    root = tmp_path / "m"
    root.mkdir()
    (root / "a.sql").write_text("select 1")
    (root / ".mesh").mkdir()
    (root / ".mesh/noop.json").write_text("")
    noop_memo.watch(["build", "--changed", "--project-dir", str(root)], "/", {}, False)
    (root / "a.sql").read_text()
    assert noop_memo.record(root, "said\n")
    assert noop_memo.replay(["build", "--changed", "--project-dir", str(root)], "/", {}, False) is None


def test_nothing_is_kept_for_a_run_that_was_not_watched_or_watched_another_mesh(tmp_path: Path) -> None:
    noop_memo.stop()
    assert noop_memo.record(tmp_path, "said\n") is False
    noop_memo.watch(["build", "--changed", "--project-dir", str(tmp_path / "other")], "/", {}, False)
    assert noop_memo.record(tmp_path, "said\n") is False
    noop_memo.stop()
    assert not (tmp_path / ".mesh").exists()


@pytest.mark.parametrize("argv, cwd, root", [
    (["build", "--changed"], "/a", "/a"),
    (["build", "--changed", "--project-dir", "b"], "/a", "/a/b"),
    (["build", "--project-dir=/c", "--changed"], "/a", "/c"),
])
def test_the_mesh_is_the_one_the_command_line_names(argv: list[str], cwd: str, root: str) -> None:
    assert noop_memo.project_root(argv, cwd) == Path(root)
