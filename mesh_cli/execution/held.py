"""A domain's DuckDB file held open by the worker that builds it, so that nothing of the build
reaches the file before the orchestrator decides.

The build writes the file in place, at the one path dbt always sees for the domain (dbt hashes the
path into its partial-parse state: a staged copy at another path made every invocation parse from
scratch), and a failed build must still leave the file byte for byte as it was, without copying a
large database on every build. DuckDB keeps a committed transaction in its write-ahead log (the
`.wal` beside the file) until a checkpoint writes it into the file. So, on the instance dbt-duckdb
will share (DuckDB gives every connection to one file in one process the same database instance),
the worker turns off what would reach the file early: optimistic writes (large appends written
into free blocks before commit), automatic checkpoints, and the checkpoint on shutdown. Commit is
a CHECKPOINT; discard closes the file and the orchestrator removes the log. Both cost what the
build changed, not the size of the database."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Optional

import duckdb

# Values DuckDB reads for these settings: the thresholds as large as it accepts.
_SETTINGS = {
    "enable_optimistic_write": "false",
    "checkpoint_threshold": "1000TB",
    "auto_checkpoint_skip_wal_threshold": str(2 ** 62),
}


def wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


class HeldDatabase:
    def __init__(self, path: Path, config: Optional[dict[str, Any]] = None) -> None:
        self.path = path
        leftover = wal(path).is_file()
        # The config dbt-duckdb opens the file with (the profile's config_options): DuckDB refuses
        # a second connection to an open file with another config.
        self.connection = duckdb.connect(str(path), read_only=False, config=dict(config or {}))
        if leftover:   # a log a dbt run by hand left behind (it crashed): part of the last good state
            self.connection.execute("CHECKPOINT")
        for name, value in _SETTINGS.items():
            self.connection.execute(f"SET GLOBAL {name} = '{value}'")
        self.connection.execute("PRAGMA disable_checkpoint_on_shutdown")

    def columns(self, relations: Iterable[tuple[str, str, str, str]]) -> dict[str, dict[str, str]]:
        """Columns and types of each (unique_id, database, schema, identifier), as dbt-duckdb's catalog
        reads them (duckdb_columns().data_type); relations not found are left out."""
        found: dict[str, dict[str, str]] = {}
        for uid, database, schema, identifier in relations:
            rows: list[Any] = self.connection.execute(
                "select column_name, data_type from duckdb_columns() where lower(database_name) = lower(?) "
                "and lower(schema_name) = lower(?) and lower(table_name) = lower(?) order by column_index",
                [database, schema, identifier]).fetchall()
            if rows:
                found[uid] = {name: kind for name, kind in rows}
        return found

    def commit(self) -> None:
        """Write the build's changes into the file (then the log is gone)."""
        try:
            self.connection.execute("CHECKPOINT")
        finally:
            self.connection.close()

    def close(self) -> None:
        """Let go of the file, its changes still in the log (discard: the orchestrator removes it)."""
        self.connection.close()
