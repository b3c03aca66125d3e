"""A domain builds into a copy of its DuckDB file, swapped in only once the build has succeeded.

So a failed, cancelled or non-conforming build leaves the domain's database exactly as it was
before it started, and downstream domains keep reading data that matches the interface they
were checked against. The copy keeps the file's name (DuckDB names the catalog after it).

The swap can be one step of a larger change (the database and the domain's published state),
made with replace_together: all of it happens, or none."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Optional, Sequence

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


def replace_together(moves: Sequence[tuple[Optional[Path], Path]]) -> None:
    """Move each new file over its target (None: remove the target), in order, as one change: when
    a step fails, the targets already replaced get their previous contents back, and the error
    (an OSError naming the target) is raised. Each step is one rename, so a reader sees a target's
    old contents or its new ones, never a mix within a file."""
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
    except BaseException as exc:
        failed = _put_back(done)
        if not isinstance(exc, OSError):
            raise
        reason = f"cannot replace {step}: {exc.strerror or exc}"
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


class StagedDatabase:
    def __init__(self, database: Path) -> None:
        self.final = database
        self.building = database.parent / BUILDING / database.name

    def prepare(self) -> None:
        self.discard()   # a copy left by a killed build is stale
        for stale in (_kept(self.final), _kept(_wal(self.final))):
            stale.unlink(missing_ok=True)   # kept by a build killed while swapping
        self.building.parent.mkdir(parents=True, exist_ok=True)
        if self.final.is_file():
            shutil.copy2(self.final, self.building)
            if _wal(self.final).is_file():
                shutil.copy2(_wal(self.final), _wal(self.building))

    def moves(self) -> list[tuple[Optional[Path], Path]]:
        """The swap, for replace_together: the built copy's WAL (or none) and then the copy itself
        over the database's; nothing when dbt wrote no copy."""
        if not self.building.is_file():
            return []
        wal = _wal(self.building)
        return [(wal if wal.is_file() else None, _wal(self.final)), (self.building, self.final)]

    def commit(self) -> None:
        replace_together(self.moves())

    def discard(self) -> None:
        self.building.unlink(missing_ok=True)
        _wal(self.building).unlink(missing_ok=True)
