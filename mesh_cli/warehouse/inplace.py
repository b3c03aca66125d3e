"""The fallback for relations a domain builds outside its staging schemas (its own profile, or a
`generate_schema_name` of its own, puts them there): dbt replaces them in place, as before the swap.

So they are protected as they were: before the domain builds, each of its public tables there (per
its last good interface) is copied beside itself, `<table>__mesh_good` (`LIKE ... INCLUDING ALL`),
and the views of other schemas that depend on relations there (directly or through other views)
are read from the catalog with their definitions. dbt-postgres replaces a table by renaming the old
one and dropping it with CASCADE, which drops those views: after the build, those that are gone are
created again, in dependency order, by their own role. A build that succeeds drops the copies; one
that fails or is cancelled gets them back under their own names, in one transaction. During the
build its consumers may read those relations half-built: the build's output says so."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from mesh_cli.core.errors import WarehouseStatementError
from mesh_cli.warehouse.dialects import ident
from mesh_cli.warehouse.model import Readable
from mesh_cli.warehouse.postgres import Statement

SUFFIX = "__mesh_good"
_DEPENDENTS = """
with recursive deps(oid) as (
    select distinct w.ev_class
    from pg_depend d
    join pg_rewrite w on w.oid = d.objid
    join pg_class t on t.oid = d.refobjid
    join pg_namespace tn on tn.oid = t.relnamespace
    where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass
      and tn.nspname = any(%(schemas)s) and w.ev_class <> t.oid
    union
    select distinct w.ev_class
    from deps
    join pg_depend d on d.refobjid = deps.oid and d.refclassid = 'pg_class'::regclass
    join pg_rewrite w on w.oid = d.objid and d.classid = 'pg_rewrite'::regclass
    where w.ev_class <> deps.oid
)
select n.nspname, c.relname, c.relkind = 'm', pg_get_userbyid(c.relowner), pg_get_viewdef(c.oid)
from deps
join pg_class c on c.oid = deps.oid
join pg_namespace n on n.oid = c.relnamespace
where n.nspname <> all(%(schemas)s)
"""


def _copy(r: Readable) -> str:
    return f"{ident(r.schema)}.{ident(r.relation + SUFFIX)}"


def _name(r: Readable) -> str:
    return f"{ident(r.schema)}.{ident(r.relation)}"


def tables(conn: Any, readables: Iterable[Readable]) -> list[Readable]:
    """The public tables among `readables` that exist (views hold no data to keep)."""
    readables = [r for r in readables if r.access == "public" and r.kind == "table"]
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

@dataclass(frozen=True)
class View:
    schema: str
    name: str
    materialized: bool
    owner: str
    definition: str

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}"

    def create(self) -> str:
        kind = "MATERIALIZED VIEW" if self.materialized else "VIEW"
        return f'CREATE {kind} "{self.schema}"."{self.name}" AS {self.definition.rstrip().rstrip(";")}'


def dependents(conn: Any, schemas: Iterable[str]) -> list[View]:
    """The views outside `schemas` that read relations in them, directly or through other views."""
    import psycopg2

    try:
        with conn.cursor() as cur:
            cur.execute(_DEPENDENTS, {"schemas": sorted(set(schemas))})
            return [View(*row) for row in cur.fetchall()]
    except psycopg2.Error as exc:
        raise WarehouseStatementError("(the views that depend on the domain's relations)", str(exc)) from None


def gone(conn: Any, views: Iterable[View]) -> list[View]:
    """Those of `views` the catalog no longer holds (asked of pg_class, which every role may read,
    even where it may not use the schema)."""
    views = list(views)
    with conn.cursor() as cur:
        cur.execute("select n.nspname, c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                    "where (n.nspname, c.relname) in (select * from unnest(%s::text[], %s::text[]))",
                    ([v.schema for v in views], [v.name for v in views]))
        present = set(cur.fetchall())
    return [v for v in views if (v.schema, v.name) not in present]


def recreate(conn: Any, views: list[View]) -> tuple[list[View], dict[str, str]]:
    """Create `views` again on `conn` (their owner's); a view over another of them waits for it.
    Returns those created and, for the others, PostgreSQL's reason."""
    import psycopg2

    pending, done, failed = list(views), [], {}
    while pending:
        progressed = False
        for view in list(pending):
            with conn.cursor() as cur:
                cur.execute("savepoint mesh_view")
                try:
                    cur.execute(view.create())
                except psycopg2.Error as exc:
                    cur.execute("rollback to savepoint mesh_view")
                    failed[view.label] = str(exc).splitlines()[0]
                    continue
                cur.execute("release savepoint mesh_view")
            pending.remove(view)
            failed.pop(view.label, None)
            done.append(view)
            progressed = True
        if not progressed:
            break
    conn.commit()
    return done, {v.label: failed[v.label] for v in pending}
