"""State-aware rebuilds (--changed), retry, the build lock, Ctrl-C, and databases that are
either as before a domain started or fully built."""
from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import WORKERS, ctrl_c_reaches_it, edit, mesh_cli
from mesh_cli.core.errors import BuildLockedError
from mesh_cli.state.lock import BuildLock
from mesh_cli.app import BuildOptions, Mesh

FRESH_SALES = "FRESH sales        up to date: no file or upstream interface changed since its last build"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- --changed ----------------------------------------------------------------------------------

def test_changed_with_nothing_changed_builds_nothing_and_never_imports_dbt(rebuilt_basic: Path) -> None:
    result = mesh_cli("build", "--changed", "--project-dir", str(rebuilt_basic))
    assert (result.exit_code, result.stdout) == (0, "Nothing to build: every selected domain is up to date.\n")
    probe = ("import sys; from mesh_cli.cli.main import cli; "
             f"cli(['build', '--changed', '--project-dir', {str(rebuilt_basic)!r}], standalone_mode=False); "
             "print('dbt imported' if any(m == 'dbt' or m.startswith('dbt.') for m in sys.modules) else 'no dbt')")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert run.stdout.splitlines()[-1] == "no dbt", run.stdout + run.stderr
    assert Mesh.load(rebuilt_basic).stale(BuildOptions()) == {}


def test_a_private_change_does_not_rebuild_downstream(rebuilt_basic: Path) -> None:
    edit(rebuilt_basic, "domains/core/models/secret.sql", "select 1 as x", "select 2 as x")
    assert Mesh.load(rebuilt_basic).stale(BuildOptions()) == {"core": "its files changed"}
    result = mesh_cli("build", "--changed", "--project-dir", str(rebuilt_basic))
    assert result.exit_code == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ["Changed: core (its files changed)", "mesh check: 0 errors, 2 warnings in 1 domain",
                         f"Building 3 domains (core, ops, sales) with {WORKERS}"]
    assert FRESH_SALES in lines
    assert "FRESH ops          up to date: no file or upstream interface changed since its last build" in lines
    assert lines[-1].endswith("1 succeeded, 0 failed, 0 skipped, 2 unchanged")


def test_a_public_interface_change_rebuilds_downstream(rebuilt_basic: Path) -> None:
    edit(rebuilt_basic, "domains/core/models/dim_people.sql", "select id, name", "select id, name, 1 as rank")
    edit(rebuilt_basic, "domains/core/models/schema.yml", "      - name: name\n        data_type: varchar\n",
         "      - name: name\n        data_type: varchar\n      - name: rank\n        data_type: integer\n")
    edit(rebuilt_basic, "domains/core/models/schema.yml", "exclude: [name]", "exclude: [name, rank]")
    with Mesh.load(rebuilt_basic) as mesh:
        result = mesh.build(BuildOptions(changed=True))
    assert [(d.domain, d.status) for d in result.domains] == [("core", "success"), ("ops", "unchanged"), ("sales", "success")]
    assert Mesh.load(rebuilt_basic).stale(BuildOptions()) == {}


def test_a_new_shared_macro_or_profile_change_counts_as_a_change(rebuilt_basic: Path) -> None:
    profiles = rebuilt_basic / "profiles/profiles.yml"
    profiles.write_text(profiles.read_text() + "\n# tuned\n")
    assert Mesh.load(rebuilt_basic).stale(BuildOptions()) == {d: "its files changed" for d in ("core", "ops", "sales")}


# --- a failed domain leaves its database as it was ------------------------------------------------------

def test_a_failed_build_leaves_the_database_as_before(rebuilt_basic: Path) -> None:
    database = rebuilt_basic / ".mesh/warehouse/core.duckdb"
    before = digest(database)
    (rebuilt_basic / "domains/core/models/broken.sql").write_text("select * from no_such_table\n")
    result = mesh_cli("build", "--skip-checks", "--select", "core", "--project-dir", str(rebuilt_basic))
    assert result.exit_code == 1
    assert digest(database) == before
    assert not (rebuilt_basic / ".mesh/warehouse/.building/core.duckdb").exists()
    # built in place: its changes were held in DuckDB's log, dropped with the marker of the build
    assert not (rebuilt_basic / ".mesh/warehouse/core.duckdb.wal").exists()
    assert not (rebuilt_basic / ".mesh/warehouse/.building/core.duckdb.building").exists()
    assert not (rebuilt_basic / ".mesh/build.lock").exists()


# --- retry --------------------------------------------------------------------------------------

def test_retry_runs_what_failed_or_was_skipped(rebuilt_basic: Path) -> None:
    bad = rebuilt_basic / "domains/core/models/secret.sql"
    bad.write_text("select * from no_such_table\n")
    first = mesh_cli("build", "--skip-checks", "--project-dir", str(rebuilt_basic))
    assert first.exit_code == 1
    bad.write_text("select 1 as x\n")
    again = mesh_cli("retry", "--skip-checks", "--project-dir", str(rebuilt_basic))
    assert again.exit_code == 0, again.stdout + again.stderr
    assert f"Building 2 domains (core, sales) with {WORKERS}" in again.stdout
    nothing = mesh_cli("retry", "--project-dir", str(rebuilt_basic))
    assert (nothing.exit_code, nothing.stdout) == (0, "Nothing to retry: every domain of the last build succeeded.\n")
    assert Mesh.load(rebuilt_basic).retry_options(BuildOptions()) is None


def test_retry_without_a_previous_build(basic: Path) -> None:
    result = mesh_cli("retry", "--project-dir", str(basic))
    assert result.exit_code == 2
    assert result.stderr == (f"Error: no previous build to retry ({basic / '.mesh/run_results.json'} does not exist); "
                             "run `mesh build` first\n")


# --- the lock -----------------------------------------------------------------------------------

def test_a_second_build_is_refused_while_one_holds_the_lock(rebuilt_basic: Path) -> None:
    lock = rebuilt_basic / ".mesh/build.lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": "2026-11-23T10:00:00+00:00",
                                "command": "mesh build --select core"}))
    result = mesh_cli("build", "--skip-checks", "--project-dir", str(rebuilt_basic))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        f"Error: another mesh build is running: process {os.getpid()} on {socket.gethostname()} has held {lock} since "
        f"2026-11-23T10:00:00+00:00 (`mesh build --select core`); wait for it to finish, or delete {lock} if that "
        "process is gone")
    assert lock.is_file()
    with pytest.raises(BuildLockedError):
        BuildLock(rebuilt_basic / ".mesh").acquire()


def test_a_lock_left_by_a_dead_process_is_taken_over(rebuilt_basic: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = rebuilt_basic / ".mesh/build.lock"
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "since": "2026-11-23T10:00:00+00:00"}))
    held = BuildLock(rebuilt_basic / ".mesh", "test").acquire()
    assert held.took_over == {"pid": dead.pid, "host": socket.gethostname(), "since": "2026-11-23T10:00:00+00:00"}
    assert json.loads(lock.read_text())["pid"] == os.getpid()
    held.release()
    assert not lock.exists()


# --- Ctrl-C -------------------------------------------------------------------------------------

SLOW = '''import time


def model(dbt, session):
    time.sleep(60)
    return session.sql("select 1 as x")
'''


def test_ctrl_c_cancels_running_domains_and_keeps_their_databases(rebuilt_basic: Path) -> None:
    database = rebuilt_basic / ".mesh/warehouse/core.duckdb"
    before = digest(database)
    (rebuilt_basic / "domains/core/models/slow.py").write_text(SLOW)
    build = subprocess.Popen([sys.executable, "-m", "mesh_cli", "build", "--skip-checks", "--select", "core+",
                              "--project-dir", str(rebuilt_basic)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=ctrl_c_reaches_it)
    assert build.stdout is not None
    lines = []
    for line in build.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith("START core"):
            break
    deadline = time.time() + 60   # let dbt get into the slow model
    while time.time() < deadline and not (rebuilt_basic / ".mesh/warehouse/.building/core.duckdb.building").is_file():
        time.sleep(0.2)
    time.sleep(3)
    build.send_signal(signal.SIGINT)
    out, err = build.communicate(timeout=60)
    lines += out.splitlines()
    assert build.returncode == 2, "\n".join(lines) + err
    assert any(line.startswith("STOP  core         cancelled while running; its database is as it was before it "
                               "started  [") for line in lines), lines
    assert "STOP  sales        cancelled before it started" in lines
    assert lines[-1].startswith("Cancelled after ")
    assert digest(database) == before
    assert not (rebuilt_basic / ".mesh/warehouse/.building/core.duckdb").exists()
    # built in place: its changes were held in DuckDB's log, dropped with the marker of the build
    assert not (rebuilt_basic / ".mesh/warehouse/core.duckdb.wal").exists()
    assert not (rebuilt_basic / ".mesh/warehouse/.building/core.duckdb.building").exists()
    assert not (rebuilt_basic / ".mesh/build.lock").exists()
    summary = json.loads((rebuilt_basic / ".mesh/run_results.json").read_text())
    assert summary["cancelled"] is True
    assert {d["domain"]: d["status"] for d in summary["domains"]}["core"] == "cancelled"
    (rebuilt_basic / "domains/core/models/slow.py").unlink()
    again = mesh_cli("retry", "--skip-checks", "--project-dir", str(rebuilt_basic), "--format", "json")
    assert again.exit_code == 0
    assert [d["domain"] for d in json.loads(again.stdout)["domains"]] == ["core", "sales"]


# --- progress -----------------------------------------------------------------------------------

def test_log_format_json_is_one_event_per_line(rebuilt_basic: Path) -> None:
    result = mesh_cli("build", "--skip-checks", "--select", "ops", "--log-format", "json", "--project-dir", str(rebuilt_basic))
    assert result.exit_code == 0
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["event"] for e in events] == ["plan", "start", "finish", "done"]
    assert (events[0]["domains"], events[1]["domain"], events[2]["status"], events[3]["success"]) == (
        ["ops"], "ops", "success", True)


def test_live_view_on_a_terminal_and_lines_elsewhere(rebuilt_basic: Path) -> None:
    import io

    from rich.console import Console

    from mesh_cli.cli.commands.progress import LineReporter, LiveReporter, reporter

    assert isinstance(reporter("text", "text", tty=True), LiveReporter)
    assert isinstance(reporter("text", "text", tty=False), LineReporter)
    screen = io.StringIO()
    live = LiveReporter(Console(file=screen, force_terminal=True, width=100))
    options = BuildOptions(select=("ops",), workers=1)
    with Mesh.load(rebuilt_basic) as mesh:
        tasks = mesh.plan(options)
        live.plan([t.domain for t in tasks], 1)
        mesh.run(tasks, options, on_result=live.result, on_start=live.start)
        live.close()
    shown = screen.getvalue()
    assert "Building 1 domain (ops) with 1 worker" in shown
    assert "1/1 done, 0 running" in shown
    assert "\x1b[" in shown   # colour on a terminal
