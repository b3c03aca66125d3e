"""A domain builds into a copy of its DuckDB file, swapped in only once the build has succeeded.

So a failed, cancelled or non-conforming build leaves the domain's database exactly as it was
before it started, and downstream domains keep reading data that matches the interface they
were checked against. The copy keeps the file's name (DuckDB names the catalog after it)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

BUILDING = ".building"


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


class StagedDatabase:
    def __init__(self, database: Path) -> None:
        self.final = database
        self.building = database.parent / BUILDING / database.name

    def prepare(self) -> None:
        self.discard()   # a copy left by a killed build is stale
        self.building.parent.mkdir(parents=True, exist_ok=True)
        if self.final.is_file():
            shutil.copy2(self.final, self.building)
            if _wal(self.final).is_file():
                shutil.copy2(_wal(self.final), _wal(self.building))

    def commit(self) -> None:
        if not self.building.is_file():
            return
        if _wal(self.building).is_file():
            os.replace(_wal(self.building), _wal(self.final))
        else:
            _wal(self.final).unlink(missing_ok=True)
        os.replace(self.building, self.final)

    def discard(self) -> None:
        self.building.unlink(missing_ok=True)
        _wal(self.building).unlink(missing_ok=True)
