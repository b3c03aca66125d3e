"""Blue/green builds on a shared PostgreSQL: a domain builds into staging schemas, and what it built
is moved into its live schemas in one transaction once it succeeded.

The mesh profile's postgres target builds domain D into `D__mesh_build` (dbt's default schema names
put a custom schema `c` in `D__mesh_build_c`), so while D builds its consumers keep reading `D` and
`D_c`, untouched. Publishing moves each relation the build made (`ALTER ... SET SCHEMA`, which needs
only CREATE on the target schema, which D's role owns): the live one out to `D__mesh_old[_c]`, the new
one in, then grants, then COMMIT. Views elsewhere keep their binding (by OID) to the old objects
until they are rebound (cascade.py), so none is ever missing. A failed build leaves `D` as it was.
Creating a schema needs CREATE on the database, which domain roles lack: `mesh warehouse provision`
makes the staging and old schemas, owned by the domain's role."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

from mesh_cli.warehouse.dialects import ident
from mesh_cli.warehouse.model import OLD, live_of, old_of, staging_of, working  # noqa: F401 (named here too)
from mesh_cli.warehouse.postgres import Statement

_ALTER = {"r": "TABLE", "p": "TABLE", "f": "FOREIGN TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW"}
_KEPT = ("incremental", "snapshot")   # materializations whose data is state a rebuild starts from
_DBT_BUILT = "success"   # a model's, seed's or snapshot's status in dbt's run_results.json (not a domain's)


@dataclass(frozen=True)
class Relation:
    schema: str
    name: str
    relkind: str

    @property
    def sql(self) -> str:
        return f"{ident(self.schema)}.{ident(self.name)}"

    def move(self, to: str) -> Statement:
        return Statement(f"ALTER {_ALTER[self.relkind]} {self.sql} SET SCHEMA {ident(to)};")

    def drop(self) -> Statement:
        return Statement(f"DROP {_ALTER[self.relkind]} IF EXISTS {self.sql} CASCADE;")


def relations(conn: Any, schemas: Iterable[str]) -> dict[tuple[str, str], Relation]:
    with conn.cursor() as cur:
        cur.execute("select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace "
                    "where n.nspname = any(%s) and c.relkind in ('r', 'p', 'f', 'v', 'm')", (sorted(set(schemas)),))
        return {(s, r): Relation(s, r, k) for s, r, k in cur.fetchall()}


def missing_schemas(conn: Any, schemas: Iterable[str]) -> list[str]:
    wanted = sorted(set(schemas))
    with conn.cursor() as cur:
        cur.execute("select nspname from pg_namespace where nspname = any(%s)", (wanted,))
        found = {s for (s,) in cur.fetchall()}
    return [s for s in wanted if s not in found]


def clear(conn: Any, schemas: Iterable[str]) -> list[Statement]:
    """Drop what the schemas hold (a killed build's leftovers, old relations once rebound)."""
    found = relations(conn, schemas).values()
    # Views first: a table's CASCADE would drop them anyway; IF EXISTS covers that order.
    return [r.drop() for r in sorted(found, key=lambda r: (r.relkind in "rpf", r.schema, r.name))]


def prepare(conn: Any, domain: str, interface: Optional[dict[str, Any]], partial: bool) -> list[Statement]:
    """What staging must hold before dbt builds there: a copy of each live incremental model and
    snapshot (their rows are the state the build adds to), and, for a build of some models only, a
    view over each other live relation, so the selected models' refs to them read the live data."""
    live = relations(conn, {str(m.get("schema")) for m in (interface or {}).get("models", [])})
    out = []
    for node in (interface or {}).get("models", []):
        schema, name = str(node.get("schema") or ""), str(node.get("identifier") or node.get("name"))
        found = live.get((schema, name))
        if found is None or not (schema == domain or schema.startswith(domain + "_")):
            continue
        target = f"{ident(staging_of(domain, schema))}.{ident(name)}"
        if node.get("materialized") in _KEPT or node.get("resource_type") == "snapshot":
            out += [Statement(f"CREATE TABLE {target} (LIKE {found.sql} INCLUDING ALL);"),
                    Statement(f"INSERT INTO {target} SELECT * FROM {found.sql};")]
        elif partial:
            out.append(Statement(f"CREATE VIEW {target} AS SELECT * FROM {found.sql};"))
    return out


def built(target_dir: Path, domain: str) -> list[tuple[str, str]]:
    """(schema, name) of each relation of `domain` its last dbt build made successfully, as dbt
    named it (in staging, or wherever a profile or generate_schema_name put it)."""
    results = json.loads((target_dir / "run_results.json").read_text(encoding="utf-8")).get("results") or []
    nodes = json.loads((target_dir / "manifest.json").read_text(encoding="utf-8")).get("nodes") or {}
    out = []
    for r in results:
        node = nodes.get(r.get("unique_id") or "")
        if (r.get("status") == _DBT_BUILT and node and node.get("package_name") == domain
                and node.get("resource_type") in ("model", "seed", "snapshot")
                and (node.get("config") or {}).get("materialized") != "ephemeral"):
            out.append((str(node.get("schema")), str(node.get("alias") or node.get("name"))))
    return sorted(set(out))


def moves(conn: Any, domain: str, made: Iterable[tuple[str, str]]) -> list[Statement]:
    """The swap: for each relation built in staging, the live one (if any) out, the new one in."""
    made = [(s, n) for s, n in made if live_of(domain, s) is not None]
    schemas = {s for s, _ in made} | {live_of(domain, s) or "" for s, _ in made}
    found = relations(conn, schemas)
    out = []
    for schema, name in made:
        new = found.get((schema, name))
        if new is None:
            continue
        live = live_of(domain, schema) or ""
        current = found.get((live, name))
        if current is not None:
            out.append(current.move(old_of(domain, live)))
        out.append(new.move(live))
    return out


def elsewhere(manifests: Iterable[Path], domain: str) -> set[str]:
    """The schemas outside its staging ones where `domain`'s relations are placed, per the newest of
    `manifests` (the check's parse just before the build, else the last build's): where dbt will
    replace them in place."""
    found = [p for p in manifests if p.is_file()]
    if not found:
        return set()
    path = max(found, key=lambda p: p.stat().st_mtime)
    try:
        nodes = json.loads(path.read_text(encoding="utf-8")).get("nodes") or {}
    except (OSError, ValueError):
        return set()
    return {str(n.get("schema")) for n in nodes.values()
            if n.get("package_name") == domain and n.get("resource_type") in ("model", "seed", "snapshot")
            and (n.get("config") or {}).get("materialized") != "ephemeral" and live_of(domain, str(n.get("schema"))) is None}
