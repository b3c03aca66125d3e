"""What the build history holds and the questions asked of it: builds, domain runs and node runs
(`mesh runs`, `mesh runs show`), each domain's and each node's last success (`mesh status`, the
catalog's freshness). Reads only; state/history.py owns the file and writes it."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from mesh_cli.core.errors import UnknownBuildError
from mesh_cli.core.status import DONE, BuildStatus
from mesh_cli.core.status import DomainStatus as RunStatus
from mesh_cli.state.history import _FAILED, _open, history_path, local_time


@dataclass
class Build:
    id: int
    started_at: float
    ended_at: float
    elapsed: float
    status: BuildStatus
    command: str
    selection: str                    # the selection words as given, "" for every domain
    workers: Optional[int]
    success: bool
    domains: dict[str, int] = field(default_factory=dict)   # ok, failed, skipped, cancelled -> n

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "started_at": local_time(self.started_at), "ended_at": local_time(self.ended_at),
                "elapsed": round(self.elapsed, 2), "status": self.status.value, "command": self.command,
                "selection": self.selection, "workers": self.workers, "success": self.success,
                "domains": self.domains}


@dataclass
class DomainRun:
    build_id: int
    domain: str
    status: RunStatus
    started_at: Optional[float]
    elapsed: float
    message: str
    log: Optional[str]
    counts: dict[str, dict[str, int]]

    def to_dict(self) -> dict[str, Any]:
        return {"build_id": self.build_id, "domain": self.domain, "status": self.status.value,
                "started_at": local_time(self.started_at), "elapsed": round(self.elapsed, 2),
                "message": self.message, "log": self.log, "counts": self.counts}


@dataclass
class ModelRun:
    domain: str
    unique_id: str
    resource_type: str
    status: str
    execution_time: Optional[float]
    started_at: Optional[float]
    completed_at: Optional[float]
    rows_affected: Optional[int]
    message: Optional[str]

    @property
    def failed(self) -> bool:
        return self.status in _FAILED

    def to_dict(self) -> dict[str, Any]:
        return {"domain": self.domain, "unique_id": self.unique_id, "resource_type": self.resource_type,
                "status": self.status, "execution_time": None if self.execution_time is None else round(self.execution_time, 3),
                "started_at": local_time(self.started_at), "completed_at": local_time(self.completed_at),
                "rows_affected": self.rows_affected, "message": self.message}


@dataclass
class BuildDetail:
    build: Build
    domains: list[DomainRun]
    models: list[ModelRun]            # failures first, then by domain (build order) and unique_id

    def to_dict(self) -> dict[str, Any]:
        return {"build": self.build.to_dict(), "domains": [d.to_dict() for d in self.domains],
                "models": [m.to_dict() for m in self.models]}


def _words(*statuses: RunStatus) -> str:
    """Statuses as SQL literals (our own words, never input)."""
    return ", ".join(f"'{s.value}'" for s in sorted(statuses))


_BUILD_COLUMNS = ("b.id, b.started_at, b.ended_at, b.elapsed, b.status, b.command, b.selection, b.workers, b.success, "
                  f"COALESCE(SUM(d.status IN ({_words(*DONE)})), 0), COALESCE(SUM(d.status = {_words(RunStatus.ERROR)}), 0), "
                  f"COALESCE(SUM(d.status = {_words(RunStatus.SKIPPED)}), 0), "
                  f"COALESCE(SUM(d.status = {_words(RunStatus.CANCELLED)}), 0)")


def _build(row: tuple[Any, ...]) -> Build:
    counts = dict(zip(("ok", "failed", "skipped", "cancelled"), (int(n) for n in row[9:13])))
    return Build(row[0], row[1], row[2], row[3], BuildStatus(row[4]), row[5], row[6], row[7], bool(row[8]), counts)


def builds(root: Path, limit: int = 20) -> list[Build]:
    """The most recent builds, newest first."""
    with _open(root, create=False) as conn:
        if conn is None:
            return []
        rows = conn.execute(f"SELECT {_BUILD_COLUMNS} FROM builds b LEFT JOIN domain_runs d ON d.build_id = b.id "
                            "GROUP BY b.id ORDER BY b.id DESC LIMIT ?", (limit,)).fetchall()
    return [_build(r) for r in rows]


def _domain_run(row: tuple[Any, ...]) -> DomainRun:
    return DomainRun(row[0], row[1], RunStatus(row[2]), row[3], row[4], row[5], row[6], json.loads(row[7]))


_DOMAIN_COLUMNS = "build_id, domain, status, started_at, elapsed, message, log, counts_json"


def build(root: Path, build_id: int) -> BuildDetail:
    """One build with its domains (in build order) and the nodes dbt ran (failures first)."""
    with _open(root, create=False) as conn:
        row = None if conn is None else conn.execute(
            f"SELECT {_BUILD_COLUMNS} FROM builds b LEFT JOIN domain_runs d ON d.build_id = b.id "
            "WHERE b.id = ? GROUP BY b.id", (build_id,)).fetchone()
        if conn is None or row is None:
            last = None if conn is None else conn.execute("SELECT MAX(id) FROM builds").fetchone()[0]
            raise UnknownBuildError(build_id, last, history_path(root))
        domains = conn.execute(f"SELECT {_DOMAIN_COLUMNS} FROM domain_runs WHERE build_id = ? ORDER BY rowid",
                               (build_id,)).fetchall()
        models = conn.execute(
            "SELECT domain, unique_id, resource_type, status, execution_time, started_at, completed_at, rows_affected, "
            "message FROM model_runs WHERE build_id = ?", (build_id,)).fetchall()
    runs = [_domain_run(d) for d in domains]
    # dbt's threads finish nodes in any order: sort so the same build always reads the same
    order = {d.domain: i for i, d in enumerate(runs)}
    nodes = sorted((ModelRun(*m) for m in models), key=lambda m: (not m.failed, order.get(m.domain, 0), m.unique_id))
    return BuildDetail(_build(row), runs, nodes)


def last_success(root: Path, domain: str) -> Optional[DomainRun]:
    """The domain's run in the latest build where it built successfully, or None."""
    with _open(root, create=False) as conn:
        row = None if conn is None else conn.execute(
            f"SELECT {_DOMAIN_COLUMNS} FROM domain_runs WHERE domain = ? AND status = {_words(RunStatus.SUCCESS)} "
            "ORDER BY build_id DESC LIMIT 1", (domain,)).fetchone()
    return None if row is None else _domain_run(row)


_CHUNK = 500   # SQLite's limit on the parameters of one statement is 999 in older builds


def last_node_success(root: Path, unique_ids: Iterable[str]) -> dict[str, datetime]:
    """When each node (a model or one of its versions, a seed, a snapshot) was last built
    successfully: dbt's completion time of the node, in the latest build where both the node and
    its domain succeeded (a failed domain's database is put back, so its nodes' successes did not
    last). Nodes never built so are left out; without a history, every node is. Times are UTC."""
    wanted = sorted(set(unique_ids))
    found: dict[str, datetime] = {}
    with _open(root, create=False) as conn:
        if conn is None:
            return found
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start:start + _CHUNK]
            # SQLite takes the other columns from the row holding MAX(): the latest such build's
            rows = conn.execute(
                "SELECT m.unique_id, MAX(m.build_id), COALESCE(m.completed_at, b.ended_at) FROM model_runs m "
                "JOIN domain_runs d ON d.build_id = m.build_id AND d.domain = m.domain "
                "JOIN builds b ON b.id = m.build_id "
                # m.status is dbt's word for the node, d.status ours for the domain
                f"WHERE m.status = 'success' AND d.status = {_words(RunStatus.SUCCESS)} AND m.unique_id IN ({', '.join('?' * len(chunk))}) "
                "GROUP BY m.unique_id", chunk).fetchall()
            found.update({uid: datetime.fromtimestamp(at, timezone.utc) for uid, _, at in rows})
    return found


@dataclass
class DomainStatus:
    domain: str
    last_success: Optional[DomainRun]
    stale: Optional[str]              # why it needs a build, None when up to date

    def to_dict(self) -> dict[str, Any]:
        last = self.last_success
        return {"domain": self.domain, "up_to_date": self.stale is None, "reason": self.stale,
                "last_success": None if last is None else {"build_id": last.build_id,
                                                           "started_at": local_time(last.started_at),
                                                           "elapsed": round(last.elapsed, 2)}}


def status(root: Path, stale: Mapping[str, Optional[str]]) -> list[DomainStatus]:
    """Each domain of `stale` (why it needs a build, in build order): its last successful build and
    whether it is stale. Reads the history only: no dbt."""
    return [DomainStatus(n, last_success(root, n), why) for n, why in stale.items()]
