"""Worker processes started first thing, before mesh's own imports.

Importing dbt takes a worker longer than anything mesh does before its first job, and mesh's own
imports come before the pool exists: a worker started by the command's entry point has imported
dbt that much sooner. Standard library only, so that starting one costs nothing mesh has not paid.
The pool adopts these before it starts any process of its own; one nobody adopts ends with mesh
(its input closes)."""
from __future__ import annotations

import os
import subprocess
import sys
from typing import Optional

_EARLY: list["subprocess.Popen[str]"] = []


def spawn() -> "subprocess.Popen[str]":
    """A worker process, its stderr a pipe for the pool to copy into the worker's log."""
    env = {**os.environ}
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")  # offline machines: no tracking calls
    return subprocess.Popen(
        [sys.executable, "-m", "mesh_cli.execution.runner"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, env=env, text=True, encoding="utf-8",
        # Ctrl-C reaches the orchestrator only; it decides what to stop and what to keep.
        start_new_session=True,
    )


def start_early() -> None:
    _EARLY.append(spawn())


def take() -> Optional["subprocess.Popen[str]"]:
    """A worker started early and still running, if there is one."""
    while _EARLY:
        process = _EARLY.pop(0)
        if process.poll() is None:
            return process
    return None


def starts_dbt(argv: list[str]) -> bool:
    """Whether the command line is one that starts dbt at once: `build` or `check`, without the
    options under which it may start none (`--changed` with nothing changed imports no dbt)."""
    words = [a for a in argv if not a.startswith("-")]
    quiet = {"--help", "-h", "--dry-run", "--changed", "--version"}
    return bool(words) and words[0] in ("build", "check") and not quiet & set(argv)
