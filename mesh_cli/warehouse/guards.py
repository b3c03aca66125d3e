"""Grants applied, and consumers' views kept, as each domain's build succeeds on a shared PostgreSQL.

A table rebuilt by dbt-postgres is a new table with no grants, and an access or allow-list changed
since the last build must take effect now: so after each successful build the domain's own role (the
owner of its schemas and relations) grants and revokes, in one transaction, until the catalog says
what the access rules say. This runs before the interface is published: a domain whose grants fail
publishes nothing, and its consumers keep the interface they were checked against. Other domains'
views that the rebuild dropped (CASCADE) are created again: see cascade.py."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Optional

from mesh_cli.core.errors import MeshError
from mesh_cli.execution.plan import DomainPlan
from mesh_cli.execution.scheduler import Guards
from mesh_cli.state.interface import extract_interface
from mesh_cli.state.manifest import Manifest
from mesh_cli.warehouse import backup, cascade, postgres
from mesh_cli.warehouse.model import Readable, WarehouseModel, schemas_of

Interfaces = Mapping[str, Optional[dict[str, Any]]]


class GrantingGuards:
    """The build's guards, with grants applied (and dropped consumer views restored) for the domains
    in `domains`, before each one's publication. `model_of` compiles the warehouse model from
    interfaces; `published` reads a domain's last good interface."""

    def __init__(self, inner: Guards, domains: set[str], model_of: Callable[[Interfaces], WarehouseModel],
                 published: Callable[[str], Optional[dict[str, Any]]]) -> None:
        self.inner, self.domains, self.model_of, self.published = inner, domains, model_of, published
        self.notes: list[str] = []                      # warnings for the build's report
        self._views: dict[str, list[cascade.View]] = {}  # domain -> other schemas' views over it
        self._kept: dict[str, list[Readable]] = {}        # domain -> its public tables copied before it built

    def before(self, plan: DomainPlan) -> list[str]:
        refused = self.inner.before(plan)
        if not refused and plan.domain in self.domains:
            model = self.model_of({plan.domain: self.published(plan.domain)})
            try:   # the domain's role must log in to grant after the build: better refused now than then
                conn = postgres.connect(model.roles[plan.domain], plan.domain)
                try:
                    self._views[plan.domain] = cascade.dependents(conn, schemas_of(plan.domain,
                                                                                   self.published(plan.domain)))
                    mine = [r for r in model.relations if r.domain == plan.domain]
                    self._kept[plan.domain] = backup.existing(conn, backup.tables(mine))
                    postgres.run(conn, backup.keep(self._kept[plan.domain]))
                finally:
                    conn.close()
            except MeshError as exc:
                self._views.pop(plan.domain, None)
                self._kept.pop(plan.domain, None)
                return [f"domain '{plan.domain}' was not built: {exc.message}"]
        return refused

    def up_to_date(self, plan: DomainPlan) -> Optional[str]:
        return self.inner.up_to_date(plan)

    def manifest_key(self, plan: DomainPlan) -> Optional[str]:
        return self.inner.manifest_key(plan)

    def verify(self, plan: DomainPlan, catalog: dict[str, dict[str, str]]) -> list[str]:
        return self.inner.verify(plan, catalog)

    def publish(self, plan: DomainPlan, commit: Callable[[], None]) -> None:
        if plan.domain in self.domains:
            fresh = extract_interface(Manifest.load(plan.target_dir / "manifest.json"), plan.domain)
            model = self.model_of({plan.domain: fresh})
            self._grant(model, plan.domain)
            self._run(model, plan.domain, backup.discard(self._kept.pop(plan.domain, [])))
            try:
                self._restore(plan.domain)
            except MeshError as exc:   # the domain itself is fine: its consumers' views are the problem
                self.notes.append(f"building '{plan.domain}' may have dropped views of other domains over it, "
                                  f"and they could not be checked or created again: {exc.message}")
        self.inner.publish(plan, commit)

    def finish(self) -> list[str]:
        """After the run: a domain that started but did not publish (it failed, or was cancelled) may
        have replaced some tables already, without their grants and dropping views over them; its
        last good interface's grants are applied again and the views restored. Returns the notes."""
        for domain in sorted(self._views):
            try:
                model = self.model_of({domain: self.published(domain)})
                kept = self._kept.pop(domain, [])
                self._run(model, domain, backup.restore(kept))
                if kept:
                    self.notes.append(f"'{domain}' did not build: its public tables are back as its last good build "
                                      f"left them: {', '.join(f'{r.schema}.{r.relation}' for r in kept)}")
                self._grant(model, domain)
                self._restore(domain)
            except MeshError as exc:
                self.notes.append(f"after '{domain}' failed, its grants could not be applied again: {exc}")
        return self.notes

    def _grant(self, model: WarehouseModel, domain: str) -> None:
        conn = postgres.connect(model.roles[domain], domain)
        try:
            postgres.run(conn, postgres.diff(conn, model, [domain]).statements())
        finally:
            conn.close()

    def _run(self, model: WarehouseModel, domain: str, statements: list[postgres.Statement]) -> None:
        """`statements` as the domain's role, in one transaction."""
        if not statements:
            return
        conn = postgres.connect(model.roles[domain], domain)
        try:
            postgres.run(conn, statements)
        finally:
            conn.close()

    def _restore(self, domain: str) -> None:
        """Create again, as their owners, the views of other domains that this build dropped."""
        views = self._views.pop(domain, [])
        if not views:
            return
        model = self.model_of({})
        owners = {role: d for d, role in model.roles.items()}
        conn = postgres.connect(model.roles[domain], domain)
        try:
            lost = cascade.gone(conn, views)
        finally:
            conn.close()
        for role in sorted({v.owner for v in lost}):
            consumer = owners.get(role)
            mine = [v for v in lost if v.owner == role]
            if consumer is None:
                self.notes.append(f"building '{domain}' dropped {', '.join(v.label for v in mine)} (owned by {role}, "
                                  "not a domain of the mesh): create them again")
                continue
            conn = postgres.connect(role, consumer)
            try:
                done, failed = cascade.recreate(conn, mine)
            finally:
                conn.close()
            if done:
                self.notes.append(f"building '{domain}' dropped {len(done)} view(s) of domain '{consumer}' over it "
                                  f"(dbt-postgres replaces a table with DROP ... CASCADE): created again from their "
                                  f"definitions: {', '.join(v.label for v in done)}")
                self._grant(self.model_of({consumer: self.published(consumer)}), consumer)
            for label, why in failed.items():
                self.notes.append(f"building '{domain}' dropped view {label} of domain '{consumer}', and it could "
                                  f"not be created again ({why}): rebuild it with `mesh build --select {consumer}`")
