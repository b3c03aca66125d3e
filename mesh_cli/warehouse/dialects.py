"""The mesh's roles, schemas and grants written as each warehouse's SQL, from one WarehouseModel.

PostgreSQL runs it (`mesh warehouse provision`, grants after each build); Snowflake, BigQuery and
Databricks get it on paper (`--dry-run --adapter`). `database` is the warehouse's top level: the
PostgreSQL database, Snowflake's database, BigQuery's project, Databricks' Unity Catalog catalog."""
from __future__ import annotations

import re
from typing import Optional, Protocol

from mesh_cli.warehouse.model import DomainSpace, Grant, WarehouseModel

_BARE = re.compile(r"^[a-z_][a-z0-9_]*$")


def ident(name: str) -> str:
    """A name as SQL: bare when it is a plain lower-case identifier, else double-quoted."""
    return name if _BARE.match(name) else '"' + name.replace('"', '""') + '"'


class Dialect(Protocol):
    name: str

    def provision(self, space: DomainSpace, database: str) -> list[str]: ...
    def preamble(self, database: str) -> list[str]: ...
    def grant(self, grant: Grant, database: str) -> Optional[str]: ...
    def revoke(self, grant: Grant, database: str) -> Optional[str]: ...


class Postgres:
    name = "postgres"

    def preamble(self, database: str) -> list[str]:
        return []

    def create_role(self, role: str) -> str:
        return f"CREATE ROLE {ident(role)} LOGIN;"

    def create_schema(self, schema: str, role: str) -> str:
        return f"CREATE SCHEMA {ident(schema)} AUTHORIZATION {ident(role)};"

    def own_schema(self, schema: str, role: str) -> str:
        return f"ALTER SCHEMA {ident(schema)} OWNER TO {ident(role)};"

    def provision(self, space: DomainSpace, database: str) -> list[str]:
        # The staging and old schemas too: a domain builds into them and swaps (warehouse/swap.py).
        return [self.create_role(space.role),
                *(self.create_schema(s, space.role) for s in (*space.schemas, *space.working))]

    def _on(self, g: Grant) -> str:
        return f"SCHEMA {ident(g.schema)}" if g.relation is None else f"{ident(g.schema)}.{ident(g.relation)}"

    def grant(self, g: Grant, database: str) -> Optional[str]:
        return f"GRANT {g.privilege} ON {self._on(g)} TO {ident(g.grantee)};"

    def revoke(self, g: Grant, database: str) -> Optional[str]:
        return f"REVOKE {g.privilege} ON {self._on(g)} FROM {ident(g.grantee)};"


class Snowflake:
    """Roles own their schemas; every domain's role may use the mesh's database."""

    name = "snowflake"

    def preamble(self, database: str) -> list[str]:
        return ["-- each domain's dbt user is granted its role: GRANT ROLE <role> TO USER <user>, and a warehouse",
                f"CREATE DATABASE IF NOT EXISTS {database};"]

    def provision(self, space: DomainSpace, database: str) -> list[str]:
        out = [f"CREATE ROLE IF NOT EXISTS {space.role};", f"GRANT USAGE ON DATABASE {database} TO ROLE {space.role};"]
        for schema in space.schemas:
            out += [f"CREATE SCHEMA IF NOT EXISTS {database}.{schema};",
                    f"GRANT OWNERSHIP ON SCHEMA {database}.{schema} TO ROLE {space.role} COPY CURRENT GRANTS;"]
        return out

    def _on(self, g: Grant, database: str) -> str:
        if g.relation is None:
            return f"SCHEMA {database}.{g.schema}"
        return f"{'VIEW' if g.kind == 'view' else 'TABLE'} {database}.{g.schema}.{g.relation}"

    def grant(self, g: Grant, database: str) -> Optional[str]:
        return f"GRANT {g.privilege} ON {self._on(g, database)} TO ROLE {g.grantee};"

    def revoke(self, g: Grant, database: str) -> Optional[str]:
        return f"REVOKE {g.privilege} ON {self._on(g, database)} FROM ROLE {g.grantee};"


class BigQuery:
    """Datasets are the schemas; each domain is a service account of the project (made in IAM, not
    in SQL). Reading a table needs no grant on its dataset, so schema USAGE has no statement."""

    name = "bigquery"

    @staticmethod
    def principal(role: str, database: str) -> str:
        return f'"serviceAccount:{role.replace("_", "-")}@{database}.iam.gserviceaccount.com"'

    def preamble(self, database: str) -> list[str]:
        return [f"-- each domain is the service account <role with - for _>@{database}.iam.gserviceaccount.com, made in IAM"]

    def provision(self, space: DomainSpace, database: str) -> list[str]:
        out = []
        for schema in space.schemas:
            out += [f"CREATE SCHEMA IF NOT EXISTS `{database}`.{schema};",
                    f"GRANT `roles/bigquery.dataOwner` ON SCHEMA `{database}`.{schema} "
                    f"TO {self.principal(space.role, database)};"]
        return out

    def _table(self, g: Grant, database: str) -> str:
        return f"{'VIEW' if g.kind == 'view' else 'TABLE'} `{database}`.{g.schema}.{g.relation}"

    def grant(self, g: Grant, database: str) -> Optional[str]:
        if g.relation is None:
            return None
        return f"GRANT `roles/bigquery.dataViewer` ON {self._table(g, database)} TO {self.principal(g.grantee, database)};"

    def revoke(self, g: Grant, database: str) -> Optional[str]:
        if g.relation is None:
            return None
        return f"REVOKE `roles/bigquery.dataViewer` ON {self._table(g, database)} FROM {self.principal(g.grantee, database)};"


class Databricks:
    """Unity Catalog: a catalog for the mesh, a schema per domain owned by the domain's principal (a
    group or service principal, made in the account console)."""

    name = "databricks"
    _PRIVILEGE = {"USAGE": "USE SCHEMA", "SELECT": "SELECT"}

    def preamble(self, database: str) -> list[str]:
        return ["-- each domain is a group or service principal named after its role, made in the account console",
                f"CREATE CATALOG IF NOT EXISTS {database};"]

    def provision(self, space: DomainSpace, database: str) -> list[str]:
        out = [f"GRANT USE CATALOG ON CATALOG {database} TO `{space.role}`;"]
        for schema in space.schemas:
            out += [f"CREATE SCHEMA IF NOT EXISTS {database}.{schema};",
                    f"ALTER SCHEMA {database}.{schema} OWNER TO `{space.role}`;"]
        return out

    def _on(self, g: Grant, database: str) -> str:
        return f"SCHEMA {database}.{g.schema}" if g.relation is None else f"TABLE {database}.{g.schema}.{g.relation}"

    def grant(self, g: Grant, database: str) -> Optional[str]:
        return f"GRANT {self._PRIVILEGE[g.privilege]} ON {self._on(g, database)} TO `{g.grantee}`;"

    def revoke(self, g: Grant, database: str) -> Optional[str]:
        return f"REVOKE {self._PRIVILEGE[g.privilege]} ON {self._on(g, database)} FROM `{g.grantee}`;"


DIALECTS: dict[str, Dialect] = {d.name: d for d in (Postgres(), Snowflake(), BigQuery(), Databricks())}


def grant_order(g: Grant) -> tuple:
    """Schemas before their relations, so a script reads top-down."""
    return (g.schema, g.relation is not None, g.relation or "", g.grantee, g.privilege)


def script(model: WarehouseModel, dialect: Dialect, database: str, mesh: str) -> list[str]:
    """The whole of what the mesh needs on `dialect`, as one script: roles and schemas, then grants."""
    lines = [f"-- mesh warehouse provision for mesh '{mesh}' on {dialect.name} (dry run: nothing was run)",
             "-- roles and schemas: a role per domain, owning its schemas"]
    lines += dialect.preamble(database)
    for space in model.spaces:
        lines += dialect.provision(space, database)
    lines.append("-- grants compiled from access: public relations to the domains allowed to read them")
    grants = [dialect.grant(g, database) for g in sorted(model.expected(), key=grant_order)]
    lines += [g for g in grants if g is not None] or ["-- (none: no domain has published a public relation yet)"]
    return lines
