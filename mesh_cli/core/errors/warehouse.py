"""Errors of the shared warehouse: provisioning roles and schemas, reading and applying grants."""
from __future__ import annotations

from typing import Sequence

from mesh_cli.core.errors.base import MeshError, _listed


class WarehouseError(MeshError):
    """The shared warehouse could not do what mesh asked of it."""


class UnsupportedAdapterError(WarehouseError):
    """A warehouse command for an adapter it has no SQL for."""

    def __init__(self, adapter: str, supported: Sequence[str], where: str) -> None:
        self.adapter, self.supported = adapter, list(supported)
        super().__init__(
            f"{where} is on adapter '{adapter}', which mesh warehouse cannot run: it runs on postgres, and "
            f"prints SQL for {_listed(sorted(self.supported), 'and')} with --dry-run --adapter"
        )


class WarehouseConnectionError(WarehouseError):
    """The server named by libpq's variables could not be reached, or refused the role."""

    def __init__(self, role: str, server: str, reason: str) -> None:
        self.role, self.server, self.reason = role, server, reason.strip().splitlines()[0] if reason.strip() else ""
        super().__init__(
            f"could not connect to PostgreSQL at {server} as role '{role}': {self.reason}; set PGHOST, PGPORT, "
            f"PGDATABASE and PGUSER (and PGPASSWORD, or MESH_PG_PASSWORD_<DOMAIN> for a domain's role) to a "
            f"server and a role that may log in"
        )


class WarehouseStatementError(WarehouseError):
    """A statement of provisioning or of grants failed on the server."""

    def __init__(self, statement: str, reason: str) -> None:
        self.statement, self.reason = statement, reason.strip().splitlines()[0] if reason.strip() else ""
        super().__init__(
            f"the warehouse refused `{statement}`: {self.reason}; run `mesh warehouse provision` as an "
            f"administrator (PGUSER) first, or check that the role owns what it grants"
        )


class StagingSchemaMissingError(WarehouseError):
    """A domain would build into staging schemas the warehouse does not hold (and its role may not create)."""

    exit_code = 1

    def __init__(self, domain: str, schemas: Sequence[str], server: str) -> None:
        self.domain, self.schemas = domain, list(schemas)
        super().__init__(
            f"the schemas {', '.join(self.schemas)} that domain '{domain}' builds into and swaps out of do not exist "
            f"on {server} (its role may not create schemas): run `mesh warehouse provision --target postgres` as "
            f"the administrator (PGUSER) first"
        )
