"""What was read out of each file last time, kept while the file is unchanged (size and mtime).

Finding refs and model names reads every model and schema file of every domain; on a mesh of
hundreds of domains that is most of the time a command takes. Like dbt's partial parsing, the
results are kept in `.mesh/cache/` and a file is read again only once it changed."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Optional

# 2: YAML files keep [name, resource type] pairs ("nodes") instead of names.
VERSION = 2


class ScanCache:
    def __init__(self, path: Optional[Path] = None) -> None:
        self.path = path
        self.entries: dict[str, list[Any]] = {}
        self.dirty = False
        if path is not None and path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                if data.get("version") == VERSION:
                    self.entries = data.get("entries") or {}
            except (OSError, ValueError, AttributeError):
                self.entries = {}   # an unreadable cache is an empty one

    def get(self, file: Path, kind: str, compute: Callable[[], Any]) -> Any:
        """`compute()`'s JSON-able result for `file`, from the cache while the file is unchanged."""
        stat = file.stat()
        key = f"{kind}:{file}"
        hit = self.entries.get(key)
        if hit is not None and hit[0] == stat.st_mtime_ns and hit[1] == stat.st_size:
            return hit[2]
        value = compute()
        self.entries[key] = [stat.st_mtime_ns, stat.st_size, value]
        self.dirty = True
        return value

    def save(self) -> None:
        if self.path is None or not self.dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": VERSION, "entries": self.entries}), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError:
            pass   # a cache that cannot be written only costs time next run
        self.dirty = False
