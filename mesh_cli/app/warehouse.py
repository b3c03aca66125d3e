"""The façade's methods for a shared warehouse: provision roles and schemas, and show or apply the
grants compiled from access. Each hands the warehouse feature what it reads, never the façade."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Optional

from mesh_cli.core.errors import UnsupportedAdapterError
from mesh_cli.core.layout import PARSED_MANIFEST
from mesh_cli.core.options import BuildOptions
from mesh_cli.warehouse.dialects import DIALECTS, grant_order, script
from mesh_cli.warehouse.model import Grant, WarehouseModel, compile_model
from mesh_cli.warehouse.target import adapter_of

if TYPE_CHECKING:
    from mesh_cli.execution.scheduler import Guards
    from mesh_cli.governance.policy import Policy
    from mesh_cli.project.context import MeshContext
    from mesh_cli.project.discovery import Domain
    from mesh_cli.state.storage import Storages

RUNS_ON = "postgres"   # the warehouse mesh connects to; the others get SQL on paper


@dataclass
class ProvisionResult:
    adapter: str
    statements: list[str]      # as printed: a password never is
    ran: bool                  # False: a dry run, or nothing to do
    server: Optional[str] = None

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "adapter": self.adapter, "server": self.server, "ran": self.ran,
                "statements": self.statements}


@dataclass
class GrantRow:
    grant: Grant
    expected: bool
    granted: bool
    why: str

    @property
    def state(self) -> str:
        return "ok" if self.expected == self.granted else "missing" if self.expected else "extra"

    def to_dict(self) -> dict[str, Any]:
        g = self.grant
        return {"object": g.target, "kind": g.kind, "schema": g.schema, "relation": g.relation, "grantee": g.grantee,
                "privilege": g.privilege, "expected": self.expected, "granted": self.granted, "state": self.state,
                "why": self.why}


@dataclass
class GrantsReport:
    server: str
    rows: list[GrantRow]
    absent: list[str] = field(default_factory=list)    # public relations the database does not hold
    applied: list[str] = field(default_factory=list)   # statements run by --apply

    @property
    def differ(self) -> list[GrantRow]:
        return [r for r in self.rows if r.state != "ok"]

    @property
    def in_step(self) -> bool:
        return not self.differ

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, "server": self.server, "in_step": self.in_step,
                "missing": sum(r.state == "missing" for r in self.rows), "extra": sum(r.state == "extra" for r in self.rows),
                "grants": [r.to_dict() for r in self.rows], "absent": self.absent, "applied": self.applied}


class WarehouseOps:
    """Mixed into Mesh, which provides what these methods read."""

    context: "MeshContext"
    policy: "Policy"
    domains: dict[str, "Domain"]
    check: Callable[..., Any]

    storages: Callable[..., "Storages"]
    interface: Callable[[str], Optional[dict[str, Any]]]

    def warehouse_adapters(self, options: BuildOptions = BuildOptions()) -> dict[str, Optional[str]]:
        """Each domain's adapter under `options` (its profile's output type for the target)."""
        storages = self.storages(options)
        target = options.target or self.context.config.target
        return {name: adapter_of(storages.of(name).profiles_dir, storages.of(name).profile or d.profile, target)
                for name, d in sorted(self.domains.items())}

    def _warehouse_domains(self, options: BuildOptions) -> list[str]:
        adapters = self.warehouse_adapters(options)
        on = [d for d, a in adapters.items() if a == RUNS_ON]
        if not on:
            seen = sorted({a or "unknown" for a in adapters.values()}) or ["unknown"]
            target = options.target or self.context.config.target
            raise UnsupportedAdapterError(seen[0], [d for d in DIALECTS if d != RUNS_ON],
                                          f"target '{target}'" if target else "the default target")
        return on

    def warehouse_model(self, domains: list[str], placed: bool = True,
                        parsed: Optional[Mapping[str, Optional[dict[str, Any]]]] = None) -> WarehouseModel:
        """Roles, schemas and grants of `domains`, from their last good interfaces (and the schemas of
        `parsed` ones)."""
        interfaces = {d: self._placed_interface(d, placed) for d in domains}
        return compile_model(domains, interfaces, self.policy.allowed_consumers, placed=placed, parsed=parsed)

    def _parsed(self, domains: list[str], options: BuildOptions) -> dict[str, Optional[dict[str, Any]]]:
        """Each domain's interface as `mesh check` last parsed it, parsing first when one never was:
        dbt names the custom schemas a domain builds into (`<domain>_<custom>`) when it parses."""
        from mesh_cli.state.interface import load_interface

        folder = self.context.layout.check
        if any(load_interface(self.context.root, d, folder) is None for d in domains):
            self.check(options)
        return {d: load_interface(self.context.root, d, folder) for d in domains}

    def _placed_interface(self, domain: str, placed: bool) -> Optional[dict[str, Any]]:
        """The last good interface, when it was built on the warehouse (or for paper, any build's)."""
        interface = self.interface(domain)
        if interface is None or not placed:
            return interface
        from mesh_cli.state.interface import state_dir
        from mesh_cli.state.manifest import Manifest

        manifest = state_dir(self.context.root, domain) / "manifest.json"
        built_on = Manifest.load(manifest).adapter_type if manifest.is_file() else None
        return interface if built_on == RUNS_ON else None

    def provision(self, options: BuildOptions = BuildOptions(), dry_run: bool = False,
                  adapter: Optional[str] = None) -> ProvisionResult:
        """`mesh warehouse provision`: a role per domain and its schemas, created when missing."""
        name = self.context.config.name or self.context.root.name
        if adapter is not None:   # on paper: the whole script, no connection
            if adapter not in DIALECTS:
                raise UnsupportedAdapterError(adapter, [d for d in DIALECTS if d != RUNS_ON], "--adapter")
            model = self.warehouse_model(sorted(self.domains), placed=False)
            return ProvisionResult(adapter, script(model, DIALECTS[adapter], name, name), False)
        from mesh_cli.warehouse import postgres

        domains = self._warehouse_domains(options)
        model = self.warehouse_model(domains, parsed=self._parsed(domains, options))
        conn = postgres.connect()
        try:
            statements = postgres.provision_statements(conn, model)
            if statements and not dry_run:
                postgres.run(conn, statements)
        finally:
            conn.close()
        return ProvisionResult(RUNS_ON, [s.shown for s in statements], bool(statements) and not dry_run,
                               postgres.server())

    def grants(self, options: BuildOptions = BuildOptions(), apply: bool = False) -> GrantsReport:
        """`mesh warehouse grants`: the catalog's grants next to what access says (and, with `apply`,
        the statements that bring the catalog in step, run first)."""
        from mesh_cli.warehouse import postgres

        model = self.warehouse_model(self._warehouse_domains(options))
        conn = postgres.connect()
        try:
            found = postgres.diff(conn, model)
            applied = []
            if apply and (found.missing or found.extra):
                statements = found.statements()
                postgres.run(conn, statements)
                applied = [s.shown for s in statements]
                found = postgres.diff(conn, model)
        finally:
            conn.close()
        rows = []
        for g in sorted(found.expected | found.actual, key=grant_order):
            if g.relation is not None and (g.schema, g.relation) in found.absent:
                continue
            rows.append(GrantRow(g, g in found.expected, g in found.actual, _why(model, g, g in found.expected)))
        absent = sorted({f"{s}.{r}" for s, r in found.absent})
        return GrantsReport(postgres.server(), rows, absent, applied)

    @staticmethod
    def after_build(guards: "Guards") -> list[str]:
        """What the warehouse did at the end of a build, as warnings (nothing off PostgreSQL)."""
        from mesh_cli.warehouse.guards import GrantingGuards

        return guards.finish() if isinstance(guards, GrantingGuards) else []

    def granting(self, guards: "Guards", options: BuildOptions) -> "Guards":
        """The build's guards, applying grants after each domain on the shared PostgreSQL succeeds."""
        adapters = self.warehouse_adapters(options)
        on = {d for d, a in adapters.items() if a == RUNS_ON}
        if not on:
            return guards
        from mesh_cli.warehouse.guards import GrantingGuards

        every = sorted(on)   # only the fresh domain's relations are granted: the others give their roles
        return GrantingGuards(guards, on, lambda fresh: compile_model(
            every, {d: fresh.get(d) for d in every}, self.policy.allowed_consumers), self.interface,
            lambda d: self.context.layout.check / d / PARSED_MANIFEST)


def _why(model: WarehouseModel, g: Grant, expected: bool) -> str:
    """Why the access rules call for a grant, or do not."""
    if g.relation is not None:
        readable = model.readable(g.schema, g.relation)
        return readable.why if readable is not None else "not a relation of the mesh's interfaces"
    if expected:
        return "reads public relations of this schema"
    return "reads no public relation of this schema" if g.privilege == "USAGE" else "only the owner may do this"
