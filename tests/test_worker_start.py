"""Workers start as early as they can: the `mesh` entry point starts one before mesh's own imports,
and the pool adopts it; a free worker takes first a domain whose parse it keeps."""
from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.execution import prestart
from mesh_cli.execution.pool import Worker
from mesh_cli.execution.scheduler import dispatch_order


@pytest.mark.parametrize("argv, early", [
    (["build"], "start"),
    (["--debug", "build", "--select", "sales"], "start"),
    (["check", "--project-dir", "x"], "start"),
    (["build", "--changed"], "standby"),     # it may find nothing changed, and then imports no dbt
    (["build", "--changed", "--dry-run"], ""),
    (["build", "--dry-run"], ""),
    (["build", "--help"], ""),
    (["check", "-h"], ""),
    (["ls"], ""),
    (["contracts", "diff"], ""),
    (["--version"], ""),
    ([], ""),
])
def test_only_commands_that_start_dbt_start_a_worker_early(argv: list[str], early: str) -> None:
    assert prestart.early_worker(argv) == early


@pytest.mark.parametrize("pending, busy, order", [
    (["a", "b", "c"], set(), ["a", "b", "c"]),
    (["a", "b", "c"], {"a"}, ["b", "c", "a"]),
    (["a", "b", "c"], {"a", "c"}, ["b", "a", "c"]),
    (["a", "b"], {"a", "b"}, ["a", "b"]),
    ([], {"a"}, []),
])
def test_a_free_worker_is_offered_first_what_no_busy_worker_keeps_parsed(pending: list[str], busy: set[str],
                                                                         order: list[str]) -> None:
    assert dispatch_order(pending, busy) == order


def test_the_pool_adopts_a_worker_started_early(basic: Path) -> None:
    early = prestart.spawn()
    prestart._EARLY.append(early)
    try:
        with Mesh.load(basic) as mesh:
            result = mesh.build(BuildOptions(workers=1))
            assert result.success, result.to_dict()
            assert [w.process for w in mesh.pool(1).workers] == [early]
        assert prestart.take() is None
    finally:
        prestart._EARLY.clear()
        early.wait(timeout=30)


# The `mesh` command line, through its entry point, counting the worker processes it starts.
PROBE = """
import sys
from mesh_cli.execution import prestart
from mesh_cli.execution.pool import Worker
started = []
spawn = prestart.spawn
def counting(standby=False):
    started.append(spawn(standby))
    return started[-1]
prestart.spawn = counting
sys.argv = ["mesh", *sys.argv[1:]]
from mesh_cli.cli.entry import main
try:
    main()
except SystemExit as exit:
    code = exit.code
for process in started:   # each ends once its input closes; wait, so that all it did is seen
    try:
        process.stdin.close()
    except OSError:
        pass
    process.wait(timeout=120)
print("workers started:", len(started), "exit:", code)
"""


def test_mesh_build_starts_one_worker_before_its_imports_and_no_other(basic: Path) -> None:
    run = subprocess.run([sys.executable, "-c", PROBE, "build", "--workers", "1", "--project-dir", str(basic)],
                         capture_output=True, text=True)
    assert run.stdout.splitlines()[-1] == "workers started: 1 exit: 0", run.stdout + run.stderr
    assert "Done in" in run.stdout and "3 succeeded, 0 failed, 0 skipped" in run.stdout


def test_a_dry_run_starts_no_worker(basic: Path) -> None:
    run = subprocess.run([sys.executable, "-c", PROBE, "build", "--dry-run", "--project-dir", str(basic)],
                         capture_output=True, text=True)
    assert run.stdout.splitlines()[-1] == "workers started: 0 exit: 0", run.stdout + run.stderr


def test_the_worker_log_keeps_what_a_worker_says_on_stderr(tmp_path: Path) -> None:
    """stderr is a pipe (a worker started early has no log yet); what comes through it reaches the log."""
    process = subprocess.Popen([sys.executable, "-c", "import sys; sys.stderr.write('worker trouble\\n')"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    replies: "queue.Queue" = queue.Queue()
    worker = Worker(0, replies, tmp_path / "logs/worker-0.log", process)
    assert replies.get(timeout=30) == (worker, None)   # it ended without a reply
    worker.copier.join(timeout=30)
    assert (tmp_path / "logs/worker-0.log").read_text() == "worker trouble\n"


# Python imports this in every process of the run (PYTHONPATH): it notes which ones import dbt.
WATCH = """
import os, sys
class _Watch:
    def find_spec(self, name, path=None, target=None):
        if name == "dbt" or name.startswith("dbt."):
            sys.meta_path.remove(self)
            with open(os.environ["MESH_TEST_DBT_IMPORTS"], "a") as log:
                log.write(" ".join(sys.argv) + "\\n")
        return None
sys.meta_path.insert(0, _Watch())
"""


def run_watched(tmp_path: Path, *argv: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    (tmp_path / "watch").mkdir(exist_ok=True)
    (tmp_path / "watch/sitecustomize.py").write_text(WATCH)
    log = tmp_path / "dbt-imports.txt"
    log.unlink(missing_ok=True)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "watch"), "MESH_TEST_DBT_IMPORTS": str(log)}
    run = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env)
    return run, (log.read_text().splitlines() if log.is_file() else [])


def test_a_changed_build_with_nothing_to_build_starts_a_worker_on_standby_that_never_imports_dbt(
        built_basic: Path, tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(built_basic, root, symlinks=True)
    run, imports = run_watched(tmp_path, "build", "--changed", "--project-dir", str(root))
    assert run.stdout.splitlines() == ["Nothing to build: every selected domain is up to date.",
                                       "workers started: 1 exit: 0"], run.stdout + run.stderr
    assert imports == []


def test_a_changed_build_with_something_to_build_wakes_the_worker_on_standby(built_basic: Path,
                                                                             tmp_path: Path) -> None:
    root = tmp_path / "mesh"
    shutil.copytree(built_basic, root, symlinks=True)
    with (root / "domains/ops/models").joinpath("extra.sql").open("w") as f:
        f.write("select 1 as id\n")
    run, imports = run_watched(tmp_path, "build", "--changed", "--workers", "1", "--project-dir", str(root))
    assert run.stdout.splitlines()[-1] == "workers started: 1 exit: 0", run.stdout + run.stderr
    assert "1 succeeded, 0 failed, 0 skipped" in run.stdout
    assert len(imports) == 1 and imports[0].endswith("mesh_cli/execution/runner.py"), imports   # the worker only
