"""Consumers' views that survive their upstream's rebuild on PostgreSQL.

dbt-postgres replaces a table by renaming the old one and dropping it with CASCADE, which drops every
view, in any schema, that selects from it: a consumer domain's views over a producer's data product
vanish each time the producer builds. So before a domain builds, the views of other schemas that
depend on its relations (directly or through other views) are read from the catalog with their
definitions; after it built, those that are gone are created again, in dependency order, by their
own role, and their domain's grants applied again. A view whose definition no longer fits (its
upstream dropped a column) is reported, for its domain to be rebuilt."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from mesh_cli.core.errors import WarehouseStatementError

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
