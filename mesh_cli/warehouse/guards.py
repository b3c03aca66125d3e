"""A domain's build published on a shared PostgreSQL in one transaction, with its grants, as it succeeds.

Each domain builds into its staging schemas (swap.py), prepared before dbt starts. When it built and
its tests and contracts passed, its own role (the owner of its schemas and relations) moves what it
built into its live schemas and grants and revokes until the catalog says what the access rules say,
in one transaction, as the last step of publishing its interface: a swap that fails publishes
nothing. Then the views over the relations it replaced are rebound to the new ones by their owners
(cascade.py) and the old relations dropped. A domain that fails or is cancelled leaves its live
schemas as they were: only its staging schemas are emptied, at the end of the run. Relations its
profile or its own generate_schema_name puts outside the staging schemas are built in place, with
copies and views kept as inplace.py says."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Mapping, Optional

from mesh_cli.core.errors import MeshError, StagingSchemaMissingError, WarehouseStatementError
from mesh_cli.execution.plan import DomainPlan
from mesh_cli.execution.scheduler import Guards
from mesh_cli.state.interface import extract_interface, live_names
from mesh_cli.warehouse import cascade, inplace, postgres, swap
from mesh_cli.warehouse.model import Readable, WarehouseModel

Interfaces = Mapping[str, Optional[dict[str, Any]]]


class GrantingGuards:
    """The build's guards, with each domain in `domains` built in staging and swapped in, with its
    grants, as it publishes. `model_of` compiles the warehouse model from interfaces; `published`
    reads a domain's last good interface."""

    def __init__(self, inner: Guards, domains: set[str], model_of: Callable[[Interfaces], WarehouseModel],
                 published: Callable[[str], Optional[dict[str, Any]]],
                 parsed: Callable[[str], Optional[Path]] = lambda domain: None) -> None:
        self.inner, self.domains, self.model_of, self.published = inner, domains, model_of, published
        self.parsed = parsed   # the manifest of the check's parse of a domain (its staging names kept)
        self.notes: list[str] = []                 # warnings for the build's report
        self._working: dict[str, list[str]] = {}   # domain -> its staging and old schemas, while it builds
        # domain -> other schemas' views over what it builds in place, and its public tables copied there
        self._in_place: dict[str, tuple[list[inplace.View], list[Readable]]] = {}

    def before(self, plan: DomainPlan) -> list[str]:
        refused = self.inner.before(plan)
        if refused or plan.domain not in self.domains:
            return refused
        domain, interface = plan.domain, self.published(plan.domain)
        model = self.model_of({domain: interface})
        working = swap.working(domain, model.space(domain).schemas)
        try:   # the domain's role must log in to publish after the build: better refused now than then
            conn = postgres.connect(model.roles[domain], domain)
            try:
                missing = swap.missing_schemas(conn, working)
                if missing:
                    raise StagingSchemaMissingError(domain, missing, postgres.server())
                postgres.run(conn, swap.clear(conn, working))   # what a killed build left
                postgres.run(conn, swap.prepare(conn, domain, interface, partial=bool(plan.dbt.select)))
                elsewhere = swap.elsewhere([p for p in (self.parsed(domain), plan.target_dir / "manifest.json")
                                            if p is not None], domain)
                if elsewhere:
                    kept = inplace.tables(conn, [r for r in model.relations if r.schema in elsewhere])
                    self._in_place[domain] = (inplace.dependents(conn, elsewhere), kept)
                    postgres.run(conn, inplace.keep(kept))
            finally:
                conn.close()
        except MeshError as exc:
            self._in_place.pop(domain, None)
            return [f"domain '{domain}' was not built: {exc.message}"]
        self._working[domain] = working
        return []

    def up_to_date(self, plan: DomainPlan) -> Optional[str]:
        return self.inner.up_to_date(plan)

    def manifest_key(self, plan: DomainPlan) -> Optional[str]:
        return self.inner.manifest_key(plan)

    def verify(self, plan: DomainPlan, catalog: dict[str, dict[str, str]]) -> list[str]:
        return self.inner.verify(plan, catalog)

    def publish(self, plan: DomainPlan, commit: Callable[[], None]) -> None:
        domain = plan.domain
        if domain not in self.domains:
            self.inner.publish(plan, commit)
            return
        try:
            made = swap.built(plan.target_dir, domain)
            fresh = extract_interface(json.loads(live_names((plan.target_dir / "manifest.json").read_bytes())), domain)
        except (OSError, ValueError) as exc:
            raise OSError(f"cannot read what dbt built in {plan.target_dir}: {exc}") from exc
        model = self.model_of({domain: fresh})
        in_place = [f"{s}.{n}" for s, n in made if swap.live_of(domain, s) is None]
        if in_place:
            self.notes.append(f"'{domain}' built {', '.join(in_place)} outside its staging schemas (its profile or "
                              "generate_schema_name puts them there): dbt replaced them in place, so its consumers may "
                              f"have read them half-built; build into {swap.staging_of(domain, domain)} (the mesh "
                              "profile's schema) to have them swapped in at once")

        def swap_then_commit() -> None:   # the publication's last step: when it raises, nothing is published
            self._swap(model, domain, made)
            commit()

        self.inner.publish(plan, swap_then_commit)
        working = self._working.pop(domain, [])
        try:
            self._rebind(domain, working)
        finally:
            self._clear(model, domain, working)
        views, kept = self._in_place.pop(domain, ([], []))
        try:
            self._run(model, domain, inplace.discard(kept))
            self._recreate(domain, views)
        except MeshError as exc:
            self.notes.append(f"after '{domain}' built in place, the views over it could not be checked: {exc.message}")

    def finish(self) -> list[str]:
        """After the run: a domain that started but did not publish (it failed, or was cancelled)
        left its live schemas untouched; its staging schemas are emptied. Returns the notes."""
        for domain in sorted(self._working):
            model = self.model_of({domain: self.published(domain)})
            self._clear(model, domain, self._working.pop(domain))
            views, kept = self._in_place.pop(domain, ([], []))
            if not (views or kept):
                continue
            try:   # what dbt replaced in place: the last good tables, their grants and the views back
                self._run(model, domain, inplace.restore(kept))
                if kept:
                    self.notes.append(f"'{domain}' did not build: its public tables built in place are back as its "
                                      f"last good build left them: {', '.join(f'{r.schema}.{r.relation}' for r in kept)}")
                self._grant(model, domain)
                self._recreate(domain, views)
            except MeshError as exc:
                self.notes.append(f"after '{domain}' failed, what it built in place could not be put back: {exc.message}")
        return self.notes

    def _run(self, model: WarehouseModel, domain: str, statements: list[postgres.Statement]) -> None:
        """`statements` as the domain's role, in one transaction."""
        if not statements:
            return
        conn = postgres.connect(model.roles[domain], domain)
        try:
            postgres.run(conn, statements)
        finally:
            conn.close()

    def _swap(self, model: WarehouseModel, domain: str, made: list[tuple[str, str]]) -> None:
        """One transaction as the domain's role: the live relations out, the new ones in, the grants."""
        import psycopg2

        conn = postgres.connect(model.roles[domain], domain)
        try:
            postgres.run(conn, swap.moves(conn, domain, made), commit=False)
            try:
                grants = postgres.diff(conn, model, [domain]).statements()
            except psycopg2.Error as exc:
                conn.rollback()
                raise WarehouseStatementError("(the grants of the swapped relations)", str(exc)) from None
            postgres.run(conn, grants)
        finally:
            conn.close()

    def _grant(self, model: WarehouseModel, domain: str) -> None:
        conn = postgres.connect(model.roles[domain], domain)
        try:
            postgres.run(conn, postgres.diff(conn, model, [domain]).statements())
        finally:
            conn.close()

    def _clear(self, model: WarehouseModel, domain: str, working: list[str]) -> None:
        try:
            conn = postgres.connect(model.roles[domain], domain)
            try:
                postgres.run(conn, swap.clear(conn, working))
            finally:
                conn.close()
        except MeshError as exc:   # harmless to consumers: the next build of the domain clears them
            self.notes.append(f"the schemas {', '.join(working)} of '{domain}' could not be emptied: {exc.message}")

    def _rebind(self, domain: str, working: list[str]) -> None:
        """Rebind, as their owners, the views that still read the relations the swap replaced."""
        model = self.model_of({})
        owners = {role: d for d, role in model.roles.items()}
        try:
            conn = postgres.connect(model.roles[domain], domain)
            try:
                views = cascade.bound(conn, working)
            finally:
                conn.close()
        except MeshError as exc:
            self.notes.append(f"the views over the relations '{domain}' replaced could not be read: {exc.message}")
            return
        for role in sorted({v.owner for v in views}):
            consumer, mine = owners.get(role), [v for v in views if v.owner == role]
            if consumer is None:
                self.notes.append(f"{', '.join(v.label for v in mine)} (owned by {role}, not a domain of the mesh) "
                                  f"still read(s) the relations '{domain}' replaced, which are dropped now: create "
                                  "them again")
                continue
            try:
                conn = postgres.connect(role, consumer)
                try:
                    done, failed = cascade.rebind(conn, mine)
                finally:
                    conn.close()
                if done:   # a view dropped and created again has lost its grants
                    self._grant(self.model_of({consumer: self.published(consumer)}), consumer)
            except MeshError as exc:
                failed = {v.label: exc.message for v in mine}
            for label, why in failed.items():
                self.notes.append(f"view {label} of domain '{consumer}' could not be rebound to the relations "
                                  f"'{domain}' rebuilt ({why}), and was dropped with the old ones: rebuild it with "
                                  f"`mesh build --select {consumer}`")

    def _recreate(self, domain: str, views: list[inplace.View]) -> None:
        """Create again, as their owners, the views of other domains that building in place dropped."""
        if not views:
            return
        model = self.model_of({})
        owners = {role: d for d, role in model.roles.items()}
        conn = postgres.connect(model.roles[domain], domain)
        try:
            lost = inplace.gone(conn, views)
        finally:
            conn.close()
        for role in sorted({v.owner for v in lost}):
            consumer, mine = owners.get(role), [v for v in lost if v.owner == role]
            if consumer is None:
                self.notes.append(f"building '{domain}' dropped {', '.join(v.label for v in mine)} (owned by {role}, "
                                  "not a domain of the mesh): create them again")
                continue
            conn = postgres.connect(role, consumer)
            try:
                done, failed = inplace.recreate(conn, mine)
            finally:
                conn.close()
            if done:
                self.notes.append(f"building '{domain}' in place dropped {len(done)} view(s) of domain '{consumer}' over "
                                  f"it (dbt-postgres replaces a table with DROP ... CASCADE): created again from their "
                                  f"definitions: {', '.join(v.label for v in done)}")
                self._grant(self.model_of({consumer: self.published(consumer)}), consumer)
            for label, why in failed.items():
                self.notes.append(f"building '{domain}' dropped view {label} of domain '{consumer}', and it could "
                                  f"not be created again ({why}): rebuild it with `mesh build --select {consumer}`")

