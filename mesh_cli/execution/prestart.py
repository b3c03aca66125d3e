"""Worker processes started first thing, before mesh's own imports.

Importing dbt takes a worker longer than anything mesh does before its first job, and mesh's own
imports come before the pool exists: a worker started by the command's entry point has imported
dbt that much sooner. Standard library only (and mesh's layout constants), so that starting one costs nothing mesh has not paid.
The pool adopts these before it starts any process of its own; one nobody adopts ends with mesh
(its input closes).

A worker on standby (`mesh build --changed`, which may find nothing to build and then must start
no dbt) starts Python and mesh's side of the worker, then waits for a first line before importing
dbt: the pool sends it when it adopts the worker, and a command that builds nothing never does."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Optional

from mesh_cli.core.layout import WORKER_STANDBY_ENV   # standard library only, like this module

_EARLY: list["subprocess.Popen[str]"] = []


STANDBY_ENV = WORKER_STANDBY_ENV


def spawn(standby: bool = False) -> "subprocess.Popen[str]":
    """A worker process, its stderr a pipe for the pool to copy into the worker's log."""
    env = {**os.environ}
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")  # offline machines: no tracking calls
    if standby:
        env[STANDBY_ENV] = "1"
    return subprocess.Popen(
        [sys.executable, "-m", "mesh_cli.execution.runner"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env, text=True, encoding="utf-8",
        # Ctrl-C reaches the orchestrator only; it decides what to stop and what to keep.
        start_new_session=True,
    )


def start_early(standby: bool = False) -> None:
    _EARLY.append(spawn(standby))


def take() -> Optional["subprocess.Popen[str]"]:
    """A worker started early and still running, if there is one."""
    while _EARLY:
        process = _EARLY.pop(0)
        if process.poll() is None:
            return process
    return None


def early_worker(argv: list[str]) -> str:
    """What the command line gets before mesh's imports: "start" (a worker importing dbt at once)
    for `build` and `check`; "standby" for `build --changed`, which may build nothing; "" for the
    rest, and for what runs no dbt (`--help`, `--dry-run`)."""
    words = [a for a in argv if not a.startswith("-")]
    if not words or words[0] not in ("build", "check") or {"--help", "-h", "--dry-run", "--version"} & set(argv):
        return ""
    return "standby" if "--changed" in argv else "start"
