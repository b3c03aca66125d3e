"""The build lock under contention: many processes at once, stale and unreadable locks, and what
a second `mesh build` says."""
from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import mesh_cli
from mesh_cli.core.errors import BuildLockedError
from mesh_cli.state.lock import BuildLock

RACERS = 8
ROUNDS = 30
HOST = socket.gethostname()


def _race(folder: str, start: Any, done: Any, results: Any) -> None:
    """One contender: acquire at the barrier, report, and hold a won lock until every contender reported."""
    lock = BuildLock(Path(folder), "racer")
    start.wait()
    try:
        lock.acquire()
    except BuildLockedError as exc:
        results.put(("locked", os.getpid(), exc.pid))
        return
    except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
        results.put(("crashed", os.getpid(), repr(exc)))
        return
    results.put(("won", os.getpid(), lock.took_over))
    done.wait()
    lock.release()


def race(folder: Path) -> list[tuple[str, int, Any]]:
    """RACERS processes acquire the lock of `folder` at the same moment; what each got."""
    ctx = multiprocessing.get_context("fork")
    start, done, results = ctx.Barrier(RACERS), ctx.Event(), ctx.Queue()
    racers = [ctx.Process(target=_race, args=(str(folder), start, done, results)) for _ in range(RACERS)]
    for racer in racers:
        racer.start()
    got = [results.get(timeout=30) for _ in racers]
    done.set()
    for racer in racers:
        racer.join(timeout=30)
    return got


def dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def assert_one_winner(got: list[tuple[str, int, Any]]) -> tuple[int, Any]:
    winners = [(pid, extra) for status, pid, extra in got if status == "won"]
    assert len(winners) == 1, got
    winner = winners[0][0]
    assert sorted(extra for status, _, extra in got if status == "locked") == [winner] * (RACERS - 1), got
    return winners[0]


def test_processes_racing_for_a_free_lock_one_wins_the_others_name_it(tmp_path: Path) -> None:
    for round_ in range(ROUNDS):
        folder = tmp_path / f"round{round_}"
        assert_one_winner(race(folder))
        assert not (folder / "build.lock").exists()
        assert os.listdir(folder) == []   # no temporary file left behind either


def test_processes_racing_to_take_over_a_stale_lock_one_wins(tmp_path: Path) -> None:
    stale = {"pid": dead_pid(), "host": HOST, "since": "2026-11-23T10:00:00+00:00", "command": "mesh build"}
    for round_ in range(ROUNDS):
        folder = tmp_path / f"round{round_}"
        folder.mkdir()
        (folder / "build.lock").write_text(json.dumps(stale))
        _, took_over = assert_one_winner(race(folder))
        assert took_over == stale
        assert not (folder / "build.lock").exists()


def test_a_stale_lock_is_taken_over_and_the_new_holder_written_whole(tmp_path: Path) -> None:
    lock = tmp_path / "build.lock"
    lock.write_text(json.dumps({"pid": dead_pid(), "host": HOST}))
    held = BuildLock(tmp_path, "mesh build --select core").acquire()
    holder = json.loads(lock.read_text())
    assert (holder["pid"], holder["host"], holder["command"]) == (os.getpid(), HOST, "mesh build --select core")
    with pytest.raises(BuildLockedError) as second:
        BuildLock(tmp_path).acquire()
    assert (second.value.pid, second.value.host, second.value.since) == (os.getpid(), HOST, holder["since"])
    held.release()
    assert not lock.exists()


def test_a_lock_held_on_another_host_is_never_taken_over(tmp_path: Path) -> None:
    lock = tmp_path / "build.lock"
    lock.write_text(json.dumps({"pid": dead_pid(), "host": "elsewhere.example", "since": "2026-11-23T10:00:00+00:00"}))
    with pytest.raises(BuildLockedError) as refused:
        BuildLock(tmp_path).acquire()
    assert (refused.value.pid, refused.value.host) != (None, None)
    assert refused.value.host == "elsewhere.example"
    assert lock.is_file()


# A lock whose holder cannot be identified: no pid, a pid that is no process id, an unreadable file.
UNIDENTIFIED = {
    "no pid": json.dumps({"host": HOST, "since": "2026-11-23T10:00:00+00:00"}),
    "pid null": json.dumps({"pid": None, "host": HOST}),
    "pid 0 (the process group)": json.dumps({"pid": 0, "host": HOST}),
    "pid -1 (every process)": json.dumps({"pid": -1, "host": HOST}),
    "pid text": json.dumps({"pid": "abc", "host": HOST}),
    "pid true": json.dumps({"pid": True, "host": HOST}),
    "not an object": json.dumps([1, 2]),
    "empty": "",
    "garbage": "{\"pid\": 12",
}


@pytest.mark.parametrize("content", UNIDENTIFIED.values(), ids=UNIDENTIFIED.keys())
def test_a_lock_with_no_usable_pid_is_held_by_an_unknown_process_and_nothing_is_signalled(
        tmp_path: Path, content: str, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = tmp_path / "build.lock"
    lock.write_text(content)
    signalled: list[int] = []
    real_kill = os.kill

    def kill(pid: int, sig: int) -> None:   # the real call, recorded: pid <= 0 would reach other processes
        signalled.append(pid)
        real_kill(pid, sig)

    monkeypatch.setattr(os, "kill", kill)
    with pytest.raises(BuildLockedError) as refused:
        BuildLock(tmp_path).acquire()
    assert signalled == []
    assert refused.value.pid is None
    assert refused.value.message.startswith(f"another mesh build is running: another process has held {lock} since ")
    assert lock.read_text() == content


@pytest.mark.parametrize("kind", ["empty", "garbage", "no pid"])
def test_an_unidentified_lock_older_than_the_grace_period_is_taken_over(tmp_path: Path, kind: str) -> None:
    lock = tmp_path / "build.lock"
    lock.write_text(UNIDENTIFIED[kind])
    old = time.time() - 60
    os.utime(lock, (old, old))
    held = BuildLock(tmp_path, "test").acquire()
    assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert held.took_over == ({"host": HOST, "since": "2026-11-23T10:00:00+00:00"} if kind == "no pid" else {})
    held.release()
    assert not lock.exists()


HOLD = ("import sys, time; from pathlib import Path; from mesh_cli.state.lock import BuildLock; "
        "BuildLock(Path(sys.argv[1]), 'mesh build --select core').acquire(); print('held', flush=True); time.sleep(120)")


def test_mesh_build_while_another_process_holds_the_lock(basic: Path) -> None:
    state = basic / ".mesh"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(state)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        lock = state / "build.lock"
        since = json.loads(lock.read_text())["since"]
        result = mesh_cli("build", "--skip-checks", "--project-dir", str(basic))
        assert result.exit_code == 1
        assert result.stderr == (
            "Warning: --skip-checks: access, contract and governance checks were NOT run\n"
            f"Error: another mesh build is running: process {holder.pid} on {HOST} has held {lock} since {since} "
            f"(`mesh build --select core`); wait for it to finish, or delete {lock} if that process is gone\n")
        assert json.loads(lock.read_text())["pid"] == holder.pid
    finally:
        holder.kill()
        holder.wait()
    held = BuildLock(state).acquire()   # its holder is gone: taken over
    assert held.took_over is not None and held.took_over["pid"] == holder.pid
    held.release()
