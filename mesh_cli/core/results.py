"""What a build or a check returns: a result per domain, and the run's. Produced by the scheduler,
recorded by the history, rendered by the CLI."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from mesh_cli.core.status import DONE, DomainStatus


@dataclass
class DomainResult:
    domain: str
    status: DomainStatus
    elapsed: float = 0.0
    started_at: Optional[float] = None    # epoch seconds, None when it never started
    counts: dict[str, dict[str, int]] = field(default_factory=dict)   # resource type -> status -> n
    message: str = ""
    log: Optional[Path] = None
    failed_nodes: list[str] = field(default_factory=list)
    # What the worker reported: dbt's steps (with the fields of a refused ref) and the ids of the
    # dbt invocations that ran. None when dbt never ran.
    outcome: Optional[dict[str, Any]] = field(default=None, repr=False)

    @property
    def invocations(self) -> list[str]:
        return list((self.outcome or {}).get("invocations") or [])

    def __post_init__(self) -> None:
        self.status = DomainStatus(self.status)   # also when given as its word

    def to_dict(self) -> dict:
        return {"domain": self.domain, "status": self.status.value, "elapsed": round(self.elapsed, 2),
                "started_at": self.started_at, "counts": self.counts, "message": self.message, "failed_nodes": self.failed_nodes,
                "log": str(self.log) if self.log else None}


@dataclass
class BuildResult:
    domains: list[DomainResult]
    elapsed: float
    cancelled: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.cancelled and all(d.status in DONE for d in self.domains)

    def to_dict(self) -> dict:
        return {"success": self.success, "cancelled": self.cancelled, "elapsed": round(self.elapsed, 2),
                "domains": [d.to_dict() for d in self.domains]}


def dbt_run_results(target_dir: Path, invocations: list[str]) -> Optional[dict[str, Any]]:
    """dbt's run_results.json in `target_dir` when one of `invocations` wrote it (dbt records its
    invocation id in the file); None when it is missing, half-written or left by an earlier run."""
    try:
        data = json.loads((target_dir / "run_results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    written_by = (data.get("metadata") or {}).get("invocation_id") if isinstance(data, dict) else None
    return data if written_by is not None and written_by in invocations else None
