"""The local build history: every `mesh build` recorded in `.mesh/history.sqlite`.

SQLite (stdlib) in WAL mode, so `mesh runs` and `mesh status` read while a build writes; each
build is one transaction, so a crash leaves either the whole build or nothing. Readers never
create the file. Times are epoch seconds (UTC); the schema is documented in the README.
"""
from __future__ import annotations

import json
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

from mesh_cli.core.results import BuildResult, DomainResult, dbt_run_results
# As RunStatus: this module's own DomainStatus is a row of `mesh status`.
from mesh_cli.core.status import BuildStatus
from mesh_cli.core.status import DomainStatus as RunStatus
from mesh_cli.core.errors import HistoryError
from mesh_cli.core.options import BuildOptions
from mesh_cli.core.layout import Layout

SCHEMA_VERSION = 1
_FAILED = ("error", "fail", "runtime error")   # dbt's node statuses that mean it did not pass

_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE builds (
    id INTEGER PRIMARY KEY,
    started_at REAL NOT NULL,
    ended_at REAL NOT NULL,
    elapsed REAL NOT NULL,
    status TEXT NOT NULL,
    command TEXT NOT NULL,
    selection TEXT NOT NULL,
    workers INTEGER,
    success INTEGER NOT NULL
);
CREATE TABLE domain_runs (
    build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
    domain TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at REAL,
    elapsed REAL NOT NULL,
    message TEXT NOT NULL,
    log TEXT,
    counts_json TEXT NOT NULL,
    run_results_json TEXT,
    PRIMARY KEY (build_id, domain)
);
CREATE INDEX domain_runs_by_domain ON domain_runs (domain, status, build_id);
CREATE TABLE model_runs (
    build_id INTEGER NOT NULL,
    domain TEXT NOT NULL,
    unique_id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    status TEXT NOT NULL,
    execution_time REAL,
    started_at REAL,
    completed_at REAL,
    rows_affected INTEGER,
    message TEXT,
    PRIMARY KEY (build_id, domain, unique_id),
    FOREIGN KEY (build_id, domain) REFERENCES domain_runs (build_id, domain) ON DELETE CASCADE
);
"""


def history_path(root: Path) -> Path:
    return Layout(root).history


def local_time(epoch: Optional[float]) -> Optional[str]:
    """Local ISO time with its offset, to the second."""
    return None if epoch is None else datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


@contextmanager
def _open(root: Path, create: bool) -> Iterator[Optional[sqlite3.Connection]]:
    """A connection, or None when there is no history yet and `create` is False (readers never
    write: they neither create the file nor wait for a build's write lock)."""
    path = history_path(root)
    if not create and not path.is_file():
        yield None
        return
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), never implicit.
        conn = sqlite3.connect(path, timeout=30, isolation_level=None)
    except sqlite3.Error as exc:
        raise HistoryError(path, str(exc)) from exc
    try:
        conn.execute("PRAGMA foreign_keys = ON")
        if create:
            conn.execute("PRAGMA journal_mode = WAL")   # stays set in the file: readers never block the writer
            _create(conn)
        version = _version(conn)
        if version is not None and version != SCHEMA_VERSION:
            raise HistoryError(path, f"its schema is version {version}, this mesh reads version {SCHEMA_VERSION}",
                               "upgrade mesh, or move the file away to start a new history")
        yield conn if version is not None else None
    except sqlite3.DatabaseError as exc:
        raise HistoryError(path, str(exc)) from exc
    finally:
        conn.close()


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")   # takes the write lock now: two builds never interleave
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _version(conn: sqlite3.Connection) -> Optional[int]:
    """The schema's version; None when the file holds no history (created empty, never written)."""
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone() is None:
        return None
    return conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]


def _create(conn: sqlite3.Connection) -> None:
    with _transaction(conn):   # two first builds at once: one creates, the other finds it made
        if _version(conn) is None:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))


def selection_text(select: Iterable[str], exclude: Iterable[str] = ()) -> str:
    words = " ".join(w for s in select for w in s.replace(",", " ").split())
    excluded = " ".join(w for s in exclude for w in s.replace(",", " ").split())
    return " ".join(x for x in (words, f"--exclude {excluded}" if excluded else "") if x)


def _epoch(iso: Optional[str]) -> Optional[float]:
    if not iso:
        return None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()   # 3.10 does not read "Z"


def _model_row(build_id: int, domain: str, r: dict[str, Any]) -> tuple[Any, ...]:
    execute = next((t for t in r.get("timing") or [] if t.get("name") == "execute"), {})
    rows = (r.get("adapter_response") or {}).get("rows_affected")
    return (build_id, domain, r["unique_id"], r["unique_id"].split(".", 1)[0], str(r.get("status")),
            r.get("execution_time"), _epoch(execute.get("started_at")), _epoch(execute.get("completed_at")),
            rows if isinstance(rows, int) else None, r.get("message"))


def _build_status(result: BuildResult) -> BuildStatus:
    if result.cancelled or any(d.status == RunStatus.CANCELLED for d in result.domains):
        return BuildStatus.CANCELLED
    return BuildStatus.SUCCESS if result.success else BuildStatus.ERROR


def record(root: Path, result: BuildResult, command: str, selection: str, workers: Optional[int],
           target_dirs: Optional[dict[str, Path]] = None) -> int:
    """Store one finished build with its domains and the nodes dbt ran; returns its id."""
    ended = time.time()
    with _open(root, create=True) as conn:
        assert conn is not None   # created above
        with _transaction(conn):
            cursor = conn.execute(
                "INSERT INTO builds (started_at, ended_at, elapsed, status, command, selection, workers, success) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (ended - result.elapsed, ended, result.elapsed, _build_status(result), command, selection, workers,
                 int(result.success)))
            build_id = int(cursor.lastrowid or 0)
            for d in result.domains:
                _record_domain(conn, build_id, d, (target_dirs or {}).get(d.domain))
    return build_id


def _record_domain(conn: sqlite3.Connection, build_id: int, d: DomainResult, target_dir: Optional[Path]) -> None:
    # dbt's results of this domain, only when this build's dbt wrote them (not a half-written file)
    dbt = dbt_run_results(target_dir, d.invocations) if target_dir is not None else None
    results = (dbt or {}).get("results") or []
    # compiled SQL is in the domain's manifest already; keep the history small
    kept = None if dbt is None else json.dumps({**dbt, "results": [{k: v for k, v in r.items() if k != "compiled_code"}
                                                                 for r in results]})
    conn.execute("INSERT INTO domain_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (build_id, d.domain, d.status.value, d.started_at, d.elapsed, d.message,
                  str(d.log) if d.log else None, json.dumps(d.counts, sort_keys=True), kept))
    conn.executemany("INSERT OR REPLACE INTO model_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [_model_row(build_id, d.domain, r) for r in results if r.get("unique_id")])


def record_safely(root: Path, result: BuildResult, options: BuildOptions, target_dirs: dict[str, Path]) -> list[str]:
    """record(), for `mesh build`: a history that cannot be written is a warning, never a failed build."""
    command = "build --changed" if options.changed else "build"
    try:
        record(root, result, command, selection_text(options.select, options.exclude), options.workers, target_dirs)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong, the build itself stands
        return [f"this build was not recorded in the build history: {exc}"]
    return []
