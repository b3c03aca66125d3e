"""The options of a check or a build, as the CLI, `mesh retry` and the Python API pass them."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from mesh_cli.core.errors import ConfigError
from mesh_cli.core.layout import WORKERS_ENV


@dataclass
class BuildOptions:
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    target: Optional[str] = None
    profiles_dir: Optional[Path] = None
    threads: Optional[int] = None
    workers: int = field(default_factory=lambda: default_workers())
    changed: bool = False     # only domains whose files or upstream interfaces changed

    def to_dict(self) -> dict[str, Any]:
        """What a later `mesh retry` needs to run the same build again."""
        return {"select": list(self.select), "exclude": list(self.exclude), "target": self.target,
                "profiles_dir": str(self.profiles_dir) if self.profiles_dir else None, "threads": self.threads,
                "workers": self.workers, "changed": self.changed}


def default_workers() -> int:
    """$MESH_WORKERS, else one domain per core this process may use (a container or `taskset` may
    allow fewer than the machine has): dbt is mostly one busy core per running domain."""
    value = os.environ.get(WORKERS_ENV)
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ConfigError(f"${WORKERS_ENV}={value}", "must be a whole number of at least 1",
                              f"set {WORKERS_ENV} to the number of domains to build at once, or unset it")
        return int(value)
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return max(1, len(usable) if usable else os.cpu_count() or 2)
