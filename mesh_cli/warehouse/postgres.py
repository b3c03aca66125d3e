"""A real PostgreSQL server: what its catalog holds (roles, schema owners, privileges) and the
statements that bring it to what the mesh needs. The server comes from libpq's own variables (PGHOST,
PGPORT, PGDATABASE, PGUSER, PGPASSWORD), as the mesh profile's postgres target reads them."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional

from mesh_cli.core.errors import WarehouseConnectionError, WarehouseStatementError
from mesh_cli.warehouse.dialects import Postgres, grant_order
from mesh_cli.warehouse.model import PUBLIC, Grant, WarehouseModel, password_env

_SQL = Postgres()
_KINDS = {"r": "table", "p": "table", "f": "table", "v": "view", "m": "view"}
# Every privilege anyone but the owner holds on the mesh's schemas and relations.
_RELATION_GRANTS = """
select n.nspname, c.relname, c.relkind, coalesce(r.rolname, 'PUBLIC'), a.privilege_type
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
cross join lateral aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
left join pg_roles r on r.oid = a.grantee
where n.nspname = any(%s) and c.relkind in ('r', 'p', 'f', 'v', 'm') and a.grantee <> c.relowner
"""
_SCHEMA_GRANTS = """
select n.nspname, coalesce(r.rolname, 'PUBLIC'), a.privilege_type
from pg_namespace n
cross join lateral aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
left join pg_roles r on r.oid = a.grantee
where n.nspname = any(%s) and a.grantee <> n.nspowner
"""


def server() -> str:
    """Where libpq's variables point, for messages (never with a password)."""
    host = os.environ.get("PGHOST") or "localhost"
    return f"{host}:{os.environ.get('PGPORT') or 5432}/{database()}"


def database() -> str:
    return os.environ.get("PGDATABASE") or os.environ.get("PGUSER") or "postgres"


def connect(role: Optional[str] = None, domain: Optional[str] = None) -> Any:
    """A connection as `role` (a domain's, with its password from MESH_PG_PASSWORD_<DOMAIN>) or, without
    one, as the administrator of libpq's variables."""
    import psycopg2   # the [postgres] extra: only imported when a warehouse command runs

    options: dict[str, Any] = {"dbname": database(), "connect_timeout": 10, "application_name": "mesh"}
    if role is not None:
        options["user"] = role
        secret = os.environ.get(password_env(domain)) if domain is not None else None
        if secret:
            options["password"] = secret
    try:
        return psycopg2.connect(**options)
    except psycopg2.Error as exc:
        raise WarehouseConnectionError(role or os.environ.get("PGUSER") or "(libpq default)", server(), str(exc)) from None


@dataclass
class Statement:
    """SQL to run; `shown` is what is printed (a password never is), `params` what it binds."""

    sql: str
    shown: str = ""
    params: tuple = ()

    def __post_init__(self) -> None:
        self.shown = self.shown or self.sql


def run(conn: Any, statements: Iterable[Statement], commit: bool = True) -> None:
    """Every statement in one transaction: all of it, or nothing (`commit`: False leaves the
    transaction open for more, as the swap does for its grants)."""
    import psycopg2

    current: Optional[Statement] = None
    try:
        with conn.cursor() as cur:
            for current in statements:
                cur.execute(current.sql, current.params or None)
        if commit:
            conn.commit()
    except psycopg2.Error as exc:
        conn.rollback()
        raise WarehouseStatementError(current.shown if current else "", str(exc)) from None


def provision_statements(conn: Any, model: WarehouseModel) -> list[Statement]:
    """What is missing for `model`: roles, schemas, and schemas owned by another role."""
    with conn.cursor() as cur:
        cur.execute("select rolname from pg_roles where rolname = any(%s)", ([s.role for s in model.spaces],))
        roles = {r for (r,) in cur.fetchall()}
        cur.execute("select n.nspname, r.rolname from pg_namespace n join pg_roles r on r.oid = n.nspowner "
                    "where n.nspname = any(%s)", ([x for s in model.spaces for x in (*s.schemas, *s.working)],))
        owners = dict(cur.fetchall())
    out: list[Statement] = []
    for space in model.spaces:
        if space.role not in roles:
            secret = os.environ.get(password_env(space.domain))
            create = _SQL.create_role(space.role)
            out.append(Statement(create[:-1] + " PASSWORD %s;", f"{create[:-1]} PASSWORD '********';  "
                                 f"-- from ${password_env(space.domain)}", (secret,)) if secret else Statement(create))
        for schema in (*space.schemas, *space.working):   # the swap's staging and old schemas too
            if schema not in owners:
                out.append(Statement(_SQL.create_schema(schema, space.role)))
            elif owners[schema] != space.role:
                out.append(Statement(_SQL.own_schema(schema, space.role)))
    return out


def granted(conn: Any, schemas: Iterable[str]) -> set[Grant]:
    """The privileges the database's catalog shows on `schemas` and their relations, but the owners'."""
    names = sorted(set(schemas))
    with conn.cursor() as cur:
        cur.execute(_SCHEMA_GRANTS, (names,))
        found = {Grant(s, None, who, priv) for s, who, priv in cur.fetchall()}
        cur.execute(_RELATION_GRANTS, (names,))
        found |= {Grant(s, rel, who, priv, _KINDS[kind]) for s, rel, kind, who, priv in cur.fetchall()}
    return found


def existing(conn: Any, schemas: Iterable[str]) -> dict[tuple[str, str], str]:
    """The relations in `schemas`: (schema, name) -> table or view."""
    with conn.cursor() as cur:
        cur.execute("select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n "
                    "on n.oid = c.relnamespace where n.nspname = any(%s) and c.relkind in ('r','p','f','v','m')",
                    (sorted(set(schemas)),))
        return {(s, r): _KINDS[k] for s, r, k in cur.fetchall()}


@dataclass
class GrantDiff:
    """Expected grants against the catalog's, over some schemas."""

    expected: set[Grant]
    actual: set[Grant]
    absent: set[tuple[str, str]] = field(default_factory=set)   # expected relations not in the database

    @property
    def missing(self) -> list[Grant]:
        return sorted((g for g in self.expected - self.actual
                       if g.relation is None or (g.schema, g.relation) not in self.absent), key=grant_order)

    @property
    def extra(self) -> list[Grant]:
        return sorted(self.actual - self.expected, key=grant_order)

    def statements(self) -> list[Statement]:
        return ([Statement(_SQL.grant(g, "") or "") for g in self.missing]
                + [Statement(_SQL.revoke(g, "") or "") for g in self.extra])


def diff(conn: Any, model: WarehouseModel, domains: Optional[Iterable[str]] = None) -> GrantDiff:
    """What the access rules say about the schemas of `domains` (all) against what the database grants.
    Only the mesh's roles and PUBLIC are compared: grants to other roles are someone else's."""
    chosen = list(domains) if domains is not None else [s.domain for s in model.spaces]
    schemas = [x for d in chosen for x in model.space(d).schemas]
    actual = {g for g in granted(conn, schemas) if model.managed(g.grantee)}
    expected = model.expected(chosen)
    present = existing(conn, schemas)
    absent = {(g.schema, g.relation) for g in expected if g.relation is not None} - set(present)
    # A relation's kind as the database has it (a model turned from a view into a table, say).
    expected = {Grant(g.schema, g.relation, g.grantee, g.privilege, present.get((g.schema, g.relation), g.kind))
                if g.relation is not None else g for g in expected}
    return GrantDiff(expected, actual, absent)


__all__ = ["PUBLIC", "GrantDiff", "Statement", "connect", "diff", "provision_statements", "run", "server"]
