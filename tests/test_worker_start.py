"""Workers start as early as they can: the `mesh` entry point starts one before mesh's own imports,
and the pool adopts it; a free worker takes first a domain whose parse it keeps."""
from __future__ import annotations

import queue
import subprocess
import sys
from pathlib import Path

import pytest

from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.execution import prestart
from mesh_cli.execution.pool import Worker
from mesh_cli.execution.scheduler import dispatch_order


@pytest.mark.parametrize("argv, starts", [
    (["build"], True),
    (["--debug", "build", "--select", "sales"], True),
    (["check", "--project-dir", "x"], True),
    (["build", "--changed"], False),     # nothing changed imports no dbt
    (["build", "--dry-run"], False),
    (["build", "--help"], False),
    (["check", "-h"], False),
    (["ls"], False),
    (["contracts", "diff"], False),
    (["--version"], False),
    ([], False),
])
def test_only_commands_that_start_dbt_start_a_worker_early(argv: list[str], starts: bool) -> None:
    assert prestart.starts_dbt(argv) is starts


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
def counting():
    started.append(spawn())
    return started[-1]
prestart.spawn = counting
sys.argv = ["mesh", *sys.argv[1:]]
from mesh_cli.cli.entry import main
try:
    main()
except SystemExit as exit:
    code = exit.code
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
