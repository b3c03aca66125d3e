"""Views rebound to a domain's new relations after the swap (swap.py), by their owners.

A PostgreSQL view is bound to the relations it reads by OID, not by name: after the swap moved a
domain's live relations out to its old schemas and the new ones in, every view over them (other
domains', and the domain's own views this run did not rebuild) still reads the last good data. So
they never go missing, nor read half-built data; each is then replaced, as its owner's role, by
`CREATE OR REPLACE VIEW` from its own definition with the old (or staging) schema names turned into
the live ones, which now resolve to the new relations. When the columns no longer fit a replace
(a type changed), the view is dropped and created again in one step (a savepoint); a view that no
longer fits at all (its upstream dropped a column it reads) is reported, to be rebuilt."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from mesh_cli.core.errors import WarehouseStatementError
from mesh_cli.state.interface import STAGING, live_names
from mesh_cli.warehouse.dialects import ident
from mesh_cli.warehouse.model import OLD

# The views outside `schemas` that read a relation in them directly (views over those views follow
# their upstream view, which keeps its OID when replaced).
_BOUND = """
select distinct n.nspname, c.relname, c.relkind = 'm', pg_get_userbyid(c.relowner), pg_get_viewdef(c.oid)
from pg_depend d
join pg_rewrite w on w.oid = d.objid
join pg_class t on t.oid = d.refobjid
join pg_namespace tn on tn.oid = t.relnamespace
join pg_class c on c.oid = w.ev_class
join pg_namespace n on n.oid = c.relnamespace
where d.classid = 'pg_rewrite'::regclass and d.refclassid = 'pg_class'::regclass
  and tn.nspname = any(%(schemas)s) and n.nspname <> all(%(schemas)s) and c.oid <> t.oid
"""


@dataclass(frozen=True)
class View:
    schema: str
    name: str
    materialized: bool
    owner: str
    definition: str   # as the catalog prints it, naming the old or staging schemas

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def live(self) -> str:
        """The definition over the live names (those of swap.py's schemas, as published)."""
        text = live_names(self.definition.encode()).decode()
        return text.replace(OLD + "_", "_").replace(OLD, "").rstrip().rstrip(";")

    def statements(self, replace: bool) -> list[str]:
        name = f"{ident(self.schema)}.{ident(self.name)}"
        if self.materialized:   # no CREATE OR REPLACE: its data is computed again
            return [f"DROP MATERIALIZED VIEW {name}", f"CREATE MATERIALIZED VIEW {name} AS {self.live}"]
        if replace:
            return [f"CREATE OR REPLACE VIEW {name} AS {self.live}"]
        return [f"DROP VIEW {name}", f"CREATE VIEW {name} AS {self.live}"]


def bound(conn: Any, schemas: Iterable[str]) -> list[View]:
    """The views, outside `schemas`, that read relations in them."""
    import psycopg2

    try:
        with conn.cursor() as cur:
            cur.execute(_BOUND, {"schemas": sorted(set(schemas))})
            return sorted((View(*row) for row in cur.fetchall()), key=lambda v: v.label)
    except psycopg2.Error as exc:
        raise WarehouseStatementError("(the views over the domain's old relations)", str(exc)) from None


def rebind(conn: Any, views: list[View]) -> tuple[list[View], dict[str, str]]:
    """Replace `views` on `conn` (their owner's), each in a savepoint: a replace, else a drop and
    create. Returns those rebound and, for the others, PostgreSQL's reason."""
    import psycopg2

    done, failed = [], {}
    for view in views:
        with conn.cursor() as cur:
            for replace in (True, False):
                cur.execute("savepoint mesh_view")
                try:
                    for sql in view.statements(replace):
                        cur.execute(sql)
                except psycopg2.Error as exc:
                    cur.execute("rollback to savepoint mesh_view")
                    failed[view.label] = str(exc).splitlines()[0]
                    continue
                cur.execute("release savepoint mesh_view")
                failed.pop(view.label, None)
                done.append(view)
                break
    conn.commit()
    return done, failed


__all__ = ["STAGING", "View", "bound", "rebind"]
