"""Grants applied as each domain's build succeeds on a shared PostgreSQL.

A table rebuilt by dbt-postgres is a new table with no grants, and an access or allow-list changed
since the last build must take effect now: so after each successful build the domain's own role (the
owner of its schemas and relations) grants and revokes, in one transaction, until the catalog says
what the access rules say. This runs before the interface is published: a domain whose grants fail
publishes nothing, and its consumers keep the interface they were checked against."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

from mesh_cli.execution.plan import DomainPlan
from mesh_cli.execution.scheduler import Guards
from mesh_cli.state.interface import extract_interface
from mesh_cli.state.manifest import Manifest
from mesh_cli.warehouse import postgres
from mesh_cli.warehouse.model import WarehouseModel

ModelOf = Callable[[Mapping[str, Optional[dict[str, Any]]]], WarehouseModel]   # fresh interfaces -> model


class GrantingGuards:
    """The build's guards, with the grants of the domains in `domains` applied before publication."""

    def __init__(self, inner: Guards, domains: set[str], model_of: ModelOf) -> None:
        self.inner, self.domains, self.model_of = inner, domains, model_of
        self.applied: dict[str, int] = {}   # domain -> statements run by its last build

    def before(self, plan: DomainPlan) -> list[str]:
        return self.inner.before(plan)

    def up_to_date(self, plan: DomainPlan) -> Optional[str]:
        return self.inner.up_to_date(plan)

    def verify(self, plan: DomainPlan, catalog: dict[str, dict[str, str]]) -> list[str]:
        return self.inner.verify(plan, catalog)

    def publish(self, plan: DomainPlan) -> None:
        if plan.domain in self.domains:
            fresh = extract_interface(Manifest.load(plan.target_dir / "manifest.json"), plan.domain)
            model = self.model_of({plan.domain: fresh})
            conn = postgres.connect(model.roles[plan.domain], plan.domain)
            try:
                statements = postgres.diff(conn, model, [plan.domain]).statements()
                postgres.run(conn, statements)
            finally:
                conn.close()
            self.applied[plan.domain] = len(statements)
        self.inner.publish(plan)
