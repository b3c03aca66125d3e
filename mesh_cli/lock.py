"""One `mesh build` at a time per warehouse: a lock file under `.mesh/`, with who holds it."""
from __future__ import annotations

import json
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

from mesh_cli.errors import BuildLockedError

LOCK_FILE = "build.lock"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # someone else's process: alive
        return True
    return True


def _holder(path: Path) -> Optional[dict[str, Any]]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


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
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = _holder(self.path)
                if holder is not None and (holder.get("host") != me["host"] or _alive(int(holder.get("pid", -1)))):
                    raise BuildLockedError(self.path, holder.get("pid"), holder.get("host"), holder.get("since"),
                                           holder.get("command"))
                self.took_over = holder or {}
                self.path.unlink(missing_ok=True)   # its holder is gone (or it is unreadable): stale
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(me, out)
            return self
        raise BuildLockedError(self.path, None, None, None, None)

    def release(self) -> None:
        holder = _holder(self.path)
        if holder is not None and holder.get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "BuildLock":
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
