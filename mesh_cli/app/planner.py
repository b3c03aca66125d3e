"""Plans `mesh build`: for each selected domain, what dbt is told and what happens on success and on
failure, as data (execution.plan.DomainPlan), computed once before anything starts. Also the
guards the scheduler asks as domains start and finish: access to upstreams built in the same run,
`--changed`, contracts, and the publication that makes a build visible."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from mesh_cli.contracts.conformance import conformance
from mesh_cli.contracts.store import published_contracts
from mesh_cli.core.errors import NothingToRetryError
from mesh_cli.core.options import BuildOptions
from mesh_cli.core.status import RETRIED
from mesh_cli.execution.plan import DbtCall, DomainPlan, Packages, Staging
from mesh_cli.governance.access import check_refs
from mesh_cli.project.context import MeshContext
from mesh_cli.project.discovery import Domain
from mesh_cli.project.links import Interfaces, Links
from mesh_cli.state.fingerprint import Fingerprint, interface_hash, why_stale, write_pending
from mesh_cli.state.fingerprint import load as load_fingerprint
from mesh_cli.state.interface import prepare_publication, state_dir
from mesh_cli.state.fingerprint import domain_files_hash
from mesh_cli.state.parses import manifest_key, own_key
from mesh_cli.state.staging import DatabaseBuild, replace_together
from mesh_cli.state.storage import Storages

def published(interface: Interfaces, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The interfaces of those of `names` that have one (were built)."""
    return {n: i for n in names if (i := interface(n)) is not None}


UP_TO_DATE = "up to date: no file or upstream interface changed since its last build"


def steps(domain: Domain, built_before: bool) -> tuple[str, ...]:
    """The dbt commands a domain's build runs, in order."""
    first = ("deps",) if domain.needs_deps else ()
    # dbt build does not order seeds before models that read them through source(): seed first
    # on a domain's first build so such projects build on an empty warehouse.
    seed = ("seed",) if not built_before and domain.seed_files() else ()
    return (*first, *seed, "build")


def plan_domain(ctx: MeshContext, domain: Domain, storages: Storages, options: BuildOptions, upstreams: list[str],
                in_run: list[str], built_before: bool, select: Optional[list[str]]) -> DomainPlan:
    """One domain of a build. `in_run`: its upstreams built by this run; `select`: dbt's --select when
    a model word picked only some of its models."""
    storage = storages.of(domain.name)
    building = DatabaseBuild(storage.database) if storage.managed and storage.database is not None else None
    env = storages.env(domain.name, upstreams, frozenset(in_run))
    contracts = tuple(sorted({c.model for c in published_contracts(ctx.root, domain.name)}))
    return DomainPlan(
        domain=domain.name, project_dir=domain.path, target_dir=domain.target_dir,
        dbt=DbtCall(project_dir=domain.path, profiles_dir=storage.profiles_dir, steps=steps(domain, built_before),
                    target=options.target or ctx.config.target, profile=storage.profile, threads=options.threads,
                    select=tuple(select or ()), catalog=contracts),
        env=env, packages=Packages.of(domain),
        upstreams=tuple(in_run), writes=storage.key,
        reads=tuple(k for u in upstreams if (k := storages.of(u).key) is not None),
        staging=Staging(database=building.database, marker=building.marker, config=dict(storage.duckdb_config))
        if building is not None else None,
        publish_to=ctx.layout.state, fingerprint=select is None, only_if_stale=options.changed, contracts=contracts)


class BuildGuards:
    """What a build decides as each domain starts and ends, over the state the run has reached."""

    def __init__(self, ctx: MeshContext, links: Links, interface: Interfaces, files_hash: Callable[[str], str]) -> None:
        self.ctx, self.links, self.interface, self.files_hash = ctx, links, interface, files_hash

    def before(self, plan: DomainPlan) -> list[str]:
        """Refusals just before `plan` starts: its refs to upstreams built in this very run."""
        self.files_hash(plan.domain)   # the files as they are when dbt starts (kept for publish())
        crosses = [c for c in self.links.refs_of(plan.domain) if c.producer in plan.upstreams]
        return [e.message for e in check_refs(crosses, published(self.interface, plan.upstreams))]

    def up_to_date(self, plan: DomainPlan) -> Optional[str]:
        """`--changed`: why the domain need not run (nothing it reads changed), else None."""
        ups = {u: interface_hash(self.interface(u)) for u in self.links.graph.upstreams(plan.domain)}
        why = why_stale(load_fingerprint(state_dir(self.ctx.root, plan.domain)), self.files_hash(plan.domain), ups)
        return None if why else UP_TO_DATE

    def manifest_key(self, plan: DomainPlan) -> str:
        """What its parse depends on as it starts: its files now, its dbt arguments and environment,
        its upstreams' interfaces as this run has published them."""
        domain = self.ctx.domains[plan.domain]
        own = own_key(domain_files_hash(domain, plan.dbt.profiles_dir), plan.dbt.common(), plan.env)
        return manifest_key(self.ctx.root, own, plan.env)

    def verify(self, plan: DomainPlan, catalog: dict[str, dict[str, str]]) -> list[str]:
        """How what was built differs from the domain's published contracts."""
        return conformance(published_contracts(self.ctx.root, plan.domain), catalog) if plan.contracts else []

    def publish(self, plan: DomainPlan, commit: Callable[[], None]) -> None:
        """Publish the interface (and fingerprint) and `commit` the database's changes as one change:
        all that can fail is done first, then each file is moved into place, then the commit; on a
        failure the state is put back as it was (and the scheduler drops the database's changes).
        Raises OSError or ValueError."""
        publication = prepare_publication(self.ctx.root, plan.domain, plan.target_dir, plan.publish_to)
        moves = publication.moves
        try:
            if plan.fingerprint:   # a build of some models leaves the domain as a whole no fresher
                ups = {u: interface_hash(self.interface(u)) for u in self.links.graph.upstreams(plan.domain)}
                fingerprint = Fingerprint(self.files_hash(plan.domain), interface_hash(publication.interface), ups)
                moves = moves + [write_pending(state_dir(self.ctx.root, plan.domain), fingerprint)]
            replace_together(moves, then=commit)
        finally:
            for new, _ in moves:   # what was not moved into place
                if new is not None:
                    new.unlink(missing_ok=True)



def retry_options(run_results: Path, options: BuildOptions) -> Optional[BuildOptions]:
    """`mesh retry`: the last build's options (`run_results`), narrowed to the domains that failed,
    were skipped or were cancelled; None when it succeeded. `options` overrides what it sets."""
    if not run_results.is_file():
        raise NothingToRetryError(run_results)
    last = json.loads(run_results.read_text(encoding="utf-8"))
    again = [d["domain"] for d in last.get("domains", []) if d.get("status") in RETRIED]
    if not again:
        return None
    before = last.get("invocation") or {}
    return BuildOptions(
        select=tuple(again), target=options.target or before.get("target"),
        profiles_dir=options.profiles_dir or (Path(before["profiles_dir"]) if before.get("profiles_dir") else None),
        threads=options.threads or before.get("threads"), workers=options.workers)
