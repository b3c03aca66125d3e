"""One `mesh build` at a time per warehouse: a lock file under `.mesh/`, with who holds it.

The lock appears whole or not at all: the holder is written to a temporary file first, then
hard-linked to `build.lock`, which fails when the lock exists. A lock left by a dead process on
this host is taken over by renaming the new holder's file over it (never a moment without a lock),
under `flock` on the stale file and after checking that `build.lock` still is that file: of several
processes taking over one stale lock only one replaces it, and none replaces the lock of the winner.

A lock whose holder cannot be identified (empty, not JSON, no usable pid) is never written by this
module; it comes from a crash of an older mesh, a full disk or a hand edit. It counts as held for
`UNIDENTIFIED_GRACE` seconds after it was last written, then as stale.
"""
from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from mesh_cli.core.errors import BuildLockedError

LOCK_FILE = "build.lock"
UNIDENTIFIED_GRACE = 10.0   # seconds; far longer than any writer of an old, non-atomic lock needed
_ATTEMPTS = 20              # each retry means the lock changed hands meanwhile


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # someone else's process: alive
        return True
    return True


def _pid(holder: dict[str, Any]) -> Optional[int]:
    """The holder's process id; None unless it is one (0 and negatives would signal process groups)."""
    pid = holder.get("pid")
    return pid if isinstance(pid, int) and not isinstance(pid, bool) and pid > 0 else None


def _parse(data: bytes) -> Optional[dict[str, Any]]:
    try:
        holder = json.loads(data.decode("utf-8"))
    except ValueError:   # UnicodeDecodeError included
        return None
    return holder if isinstance(holder, dict) else None


def _holder(path: Path) -> Optional[dict[str, Any]]:
    try:
        return _parse(path.read_bytes())
    except OSError:
        return None


def _locked(path: Path, holder: Optional[dict[str, Any]]) -> BuildLockedError:
    holder = holder or {}
    return BuildLockedError(path, _pid(holder), holder.get("host"), holder.get("since"), holder.get("command"))


class BuildLock:
    """Held for the length of a build. A lock left by a dead process on this host is taken over."""

    def __init__(self, state_dir: Path, command: str = "") -> None:
        self.path = state_dir / LOCK_FILE
        self.command = command or " ".join(["mesh", *sys.argv[1:]])
        self.took_over: Optional[dict[str, Any]] = None   # the stale holder replaced, if any

    def acquire(self) -> "BuildLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "command": self.command,
              "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        # In the lock's folder: a hard link cannot cross file systems.
        written = self.path.with_name(f".{LOCK_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        written.write_text(json.dumps(me), encoding="utf-8")
        try:
            for _ in range(_ATTEMPTS):
                try:
                    os.link(written, self.path)
                    return self
                except FileExistsError:
                    pass
                self.took_over = self._replace_if_stale(written, me["host"])
                if self.took_over is not None:
                    return self
            raise _locked(self.path, _holder(self.path))
        finally:
            written.unlink(missing_ok=True)

    def _replace_if_stale(self, written: Path, host: str) -> Optional[dict[str, Any]]:
        """Put `written` in place of a lock whose holder is gone and return that holder ({} when
        unreadable); None when the lock changed meanwhile. Raises when it is held."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:   # released meanwhile
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)   # held only while deciding: a dead process's flock is dropped
            try:
                if os.stat(self.path).st_ino != os.fstat(fd).st_ino:
                    return None   # taken over by another process meanwhile: look again
            except FileNotFoundError:
                return None
            with os.fdopen(os.dup(fd), "rb") as lock:
                holder = _parse(lock.read())
            pid = _pid(holder) if holder is not None else None
            if pid is None:
                if time.time() - os.fstat(fd).st_mtime < UNIDENTIFIED_GRACE:
                    raise _locked(self.path, holder)
            elif holder is not None and (holder.get("host") != host or _alive(pid)):   # another host's pid: unknowable
                raise _locked(self.path, holder)
            os.rename(written, self.path)
            return holder or {}
        finally:
            os.close(fd)   # drops the flock

    def release(self) -> None:
        holder = _holder(self.path)
        if holder is not None and holder.get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "BuildLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
