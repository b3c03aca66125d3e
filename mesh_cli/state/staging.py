"""A domain builds its DuckDB file in place, and its changes reach the file only once the build
has succeeded.

So a failed, cancelled or non-conforming build leaves the domain's database exactly as it was
before it started, and downstream domains keep reading data that matches the interface they
were checked against, without a copy of the database per build and without a path that changes
per build (dbt's partial parsing holds only while the path dbt sees stays the same). The worker
that builds the domain keeps the changes in DuckDB's write-ahead log (execution/held.py); on
success the orchestrator has it write them into the file, on failure the log is dropped here.

A marker file says a build is under way: a log found beside the database with the marker is a
killed build's, and goes. Making the changes part of the file can be the last step of a larger
change (the domain's published state), made with replace_together: all of it happens, or none."""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable, Optional, Sequence

BUILDING = ".building"


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _kept(target: Path) -> Path:
    return target.with_name(f".{target.name}.previous")


def _keep(target: Path) -> Optional[Path]:
    """A second name for the target's current contents (a hard link: no copy), None when it has none."""
    if not target.is_file():
        return None
    kept = _kept(target)
    kept.unlink(missing_ok=True)   # left by a build that was killed mid-change
    try:
        os.link(target, kept)
    except OSError:                # a file system without hard links
        shutil.copy2(target, kept)
    return kept


def replace_together(moves: Sequence[tuple[Optional[Path], Path]], then: Optional[Callable[[], None]] = None) -> None:
    """Move each new file over its target (None: remove the target), in order, as one change: when
    a step fails, the targets already replaced get their previous contents back, and the error
    (an OSError naming the target) is raised. Each step is one rename, so a reader sees a target's
    old contents or its new ones, never a mix within a file. `then` is the change's last step:
    when it raises (an OSError saying what failed), the moves are put back too."""
    done: list[tuple[Path, Optional[Path]]] = []
    step: Optional[Path] = None
    try:
        for new, target in moves:
            step = target
            if new is None and not target.exists():
                continue
            kept = _keep(target)
            try:
                if new is None:
                    target.unlink()
                else:
                    os.replace(new, target)
            except BaseException:
                if kept is not None:
                    kept.unlink(missing_ok=True)
                raise
            done.append((target, kept))
        if then is not None:
            step = None
            then()
    except BaseException as exc:
        failed = _put_back(done)
        if not isinstance(exc, OSError):
            raise
        reason = f"cannot replace {step}: {exc.strerror or exc}" if step is not None else str(exc)
        if failed:
            reason += f"; putting back {failed} failed too, so it may hold the new contents"
        raise OSError(reason) from exc
    for _, kept in done:
        if kept is not None:
            kept.unlink(missing_ok=True)


def _put_back(done: list[tuple[Path, Optional[Path]]]) -> str:
    """Undo the replacements in `done`, newest first; the targets that could not be put back."""
    failed = []
    for target, kept in reversed(done):
        try:
            if kept is not None:
                os.replace(kept, target)
            else:
                target.unlink(missing_ok=True)   # it did not exist before
        except OSError:
            failed.append(str(target))
    return ", ".join(failed)


def swap_folder(new: Path, final: Path) -> None:
    """Put the folder `new` (written whole beside `final`) in place of `final`: a reader sees the old
    folder or the new one, never a mix; the old one is removed afterwards."""
    old = None
    if final.exists():
        old = final.parent / f".old-{final.name}-{uuid.uuid4().hex[:8]}"
        final.rename(old)
    new.rename(final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


class DatabaseBuild:
    """The orchestrator's side of a domain's in-place build of `database`."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.log = _wal(database)
        self.marker = database.parent / BUILDING / f"{database.name}.building"

    def prepare(self) -> None:
        """Before the worker opens the file: undo a killed build, then mark this one as under way."""
        self.discard()
        self.marker.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.marker.with_name(self.marker.name + ".tmp")
        tmp.write_text(json.dumps({"pid": os.getpid(), "existed": self.database.is_file()}), encoding="utf-8")
        os.replace(tmp, self.marker)

    def discard(self) -> None:
        """After a failed, cancelled or refused build (once the worker let go of the file): drop its
        changes, and the file itself when the build created it. Nothing when no build is marked."""
        try:
            existed = json.loads(self.marker.read_text(encoding="utf-8")).get("existed", True)
        except FileNotFoundError:
            return
        except ValueError:   # a marker cut short by a kill: keep the file, drop the log
            existed = True
        self.log.unlink(missing_ok=True)
        if not existed:
            self.database.unlink(missing_ok=True)
        self.marker.unlink()

    def done(self) -> None:
        """After the changes were written into the file."""
        self.marker.unlink(missing_ok=True)
