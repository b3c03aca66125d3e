"""The last good data of a domain's public tables, kept while it builds on PostgreSQL.

dbt-postgres replaces each table as it goes, so a domain whose later model or test fails has already
replaced some of its data products. Before it builds, each public table its consumers may read (per
its last good interface) is copied beside itself, `<table>__mesh_good`, with its columns, constraints
and indexes (`LIKE ... INCLUDING ALL`), readable by nobody else. A build that succeeds drops the
copies; one that fails or is cancelled gets them back under their own names, in one transaction,
so its consumers read the last good data again (during the build they may see new data)."""
from __future__ import annotations

from typing import Any, Iterable

from mesh_cli.warehouse.dialects import ident
from mesh_cli.warehouse.model import Readable
from mesh_cli.warehouse.postgres import Statement

SUFFIX = "__mesh_good"


def _copy(r: Readable) -> str:
    return f"{ident(r.schema)}.{ident(r.relation + SUFFIX)}"


def _name(r: Readable) -> str:
    return f"{ident(r.schema)}.{ident(r.relation)}"


def tables(readables: Iterable[Readable]) -> list[Readable]:
    """The public tables among `readables` (views hold no data to keep)."""
    return [r for r in readables if r.access == "public" and r.kind == "table"]


def existing(conn: Any, readables: Iterable[Readable]) -> list[Readable]:
    readables = list(readables)
    with conn.cursor() as cur:
        cur.execute("select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                    "where c.relkind in ('r', 'p') and (n.nspname, c.relname) in "
                    "(select * from unnest(%s::text[], %s::text[]))",
                    ([r.schema for r in readables], [r.relation for r in readables]))
        found = set(cur.fetchall())
    return [r for r in readables if (r.schema, r.relation) in found]


def keep(readables: Iterable[Readable]) -> list[Statement]:
    """Copies of the tables as they are, replacing copies an earlier run left."""
    out = []
    for r in readables:
        out += [Statement(f"DROP TABLE IF EXISTS {_copy(r)};"),
                Statement(f"CREATE TABLE {_copy(r)} (LIKE {_name(r)} INCLUDING ALL);"),
                Statement(f"INSERT INTO {_copy(r)} SELECT * FROM {_name(r)};")]
    return out


def restore(readables: Iterable[Readable]) -> list[Statement]:
    """The copies back under their names: whatever the failed build left there goes (with CASCADE,
    as dbt-postgres drops, so the views over it are restored after)."""
    out = []
    for r in readables:
        out += [Statement(f"DROP TABLE IF EXISTS {_name(r)} CASCADE;"),
                Statement(f"ALTER TABLE {_copy(r)} RENAME TO {ident(r.relation)};")]
    return out


def discard(readables: Iterable[Readable]) -> list[Statement]:
    return [Statement(f"DROP TABLE IF EXISTS {_copy(r)};") for r in readables]
