"""The façade the CLI calls: load a mesh once, then list, graph, check refs and build it."""
from __future__ import annotations

import json
import os
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Optional, Protocol

from mesh_cli.governance.access import check_refs
from mesh_cli.app.changes import ChangeTracking
from mesh_cli.app.discovery import Discovery
from mesh_cli.app.warehouse import WarehouseOps
from mesh_cli.app.federation import external_storage, missing_storage, resolve_externals
from mesh_cli.app.listing import DomainInfo, describe
from mesh_cli.core.results import BuildResult, DomainResult
from mesh_cli.core.config import MeshConfig, load_config
from mesh_cli.core.layout import Layout
from mesh_cli.core.options import BuildOptions
from mesh_cli.project.context import MeshContext
from mesh_cli.project.discovery import Domain, discover
from mesh_cli.core.errors import CancelledError, ChecksFailedError, MeshError, NotBuiltError, UnknownDomainError, raise_all
from mesh_cli.governance.findings import CheckReport
from mesh_cli.governance.policy import Policy
from mesh_cli.project.graph import MeshGraph
from mesh_cli.state.history import record_safely
from mesh_cli.state.interface import load_interface
from mesh_cli.project.links import Links, link
from mesh_cli.project.selection import Selection, dbt_selector, parse_words, resolve
from mesh_cli.state.lock import BuildLock
from mesh_cli.project.scancache import ScanCache
from mesh_cli.state.storage import Storage, Storages


class BuildProgress(Protocol):
    """Who is told how a build goes (the CLI's reporters)."""

    def changed(self, stale: dict[str, str]) -> None: ...
    def checked(self, report: CheckReport) -> None: ...
    def plan(self, domains: list[str], workers: int) -> None: ...
    def start(self, domain: str) -> None: ...
    def result(self, result: DomainResult) -> None: ...
    def close(self) -> None: ...


if TYPE_CHECKING:
    from mesh_cli.execution.openlineage import LineageEmitter
    from mesh_cli.execution.plan import DomainPlan
    from mesh_cli.execution.pool import WorkerPool
    from mesh_cli.state.remote import ExternalState


class Mesh(ChangeTracking, Discovery, WarehouseOps):
    """A mesh loaded once: its domains, links and storage; every command starts here."""

    def __init__(self, root: Path, config: MeshConfig, domains: list[Domain],
                 external: Optional[dict[str, "ExternalState"]] = None, notes: Iterable[str] = ()) -> None:
        self.root = root
        self.config = config
        self.domains = {d.name: d for d in domains}
        # Domains of other repositories, resolved before anything runs (app/federation.py).
        self.external = dict(external or {})
        self.notes = list(notes)   # what the CLI says on stderr (a state used --offline)
        self.context = MeshContext.of(root, config, domains, self.external)   # what features are handed
        self.policy = Policy(config.governance, root / "mesh.yml")  # validated with the rest of the config
        self._pool: Optional[WorkerPool] = None
        self._session = False  # inside `with mesh:` the pool outlives each call
        self._storages: dict[tuple[Optional[Path], Optional[str], Optional[str]], Storages] = {}
        self._files: dict[tuple[str, Optional[Path], Optional[str]], str] = {}

    def pool(self, workers: int) -> WorkerPool:
        """Warm dbt worker processes, shared by a check and the build after it; closed by close()."""
        from mesh_cli.execution.pool import WorkerPool  # the planning modules load only when something runs

        if self._pool is None or self._pool.size != workers:
            self.close()
            self._pool = WorkerPool(workers, self.context.layout.logs)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close(wait=False)   # they exit on their own; nothing waits for that
            self._pool = None

    def _release(self) -> None:
        if not self._session:
            self.close()

    def __enter__(self) -> "Mesh":
        self._session = True
        return self

    def __exit__(self, *exc: object) -> None:
        self._session = False
        self.close()

    @classmethod
    def load(cls, project_dir: Path | str = ".", offline: bool = False) -> "Mesh":
        """`offline`: an external domain whose location cannot be reached is read from the state
        resolved last time (and a note says so) instead of stopping the command."""
        root = Path(project_dir).resolve()
        config, _ = load_config(root)
        domains = discover(root, config)
        external, notes = resolve_externals(root, config, domains, Layout(root).external, offline)
        return cls(root, config, domains, external, notes)

    def check(self, options: BuildOptions = BuildOptions()) -> CheckReport:
        """Every rule over the selected domains; parses with dbt, builds nothing."""
        pool = self.pool(options.workers)
        pool.start(self._busy(options, with_upstreams=True))   # they import dbt while the mesh is checked
        from mesh_cli.governance.check import run_check  # imports sqlglot: only when checking

        try:
            return run_check(self.context, self.linked, self.policy, options, self.storages(options),
                             self.interface, pool)
        except KeyboardInterrupt:   # Ctrl-C during dbt's parses stopped the check, not a build
            raise CancelledError("during the check") from None
        finally:
            self._release()

    def _busy(self, options: BuildOptions, with_upstreams: bool = False) -> int:
        """How many domains a run of `options` starts dbt for (its selection; for a check, with the
        upstreams it parses too), so that no worker starts only to import dbt on a core in use."""
        try:
            chosen = set(self.linked.graph.select(options.select, options.exclude))
        except MeshError:   # a cycle or an unknown word: the check reports it
            return 1
        if with_upstreams:
            chosen |= {a for d in chosen for a in self.linked.graph.ancestors(d)}
        return max(1, len(chosen))

    def gate(self, options: BuildOptions = BuildOptions()) -> CheckReport:
        """The checks `mesh build` runs first: raises when any finding is an error."""
        report = self.check(options)
        if not report.ok:
            raise ChecksFailedError([f.text(self.root) for f in report.sorted() if f.severity == "error"],
                                    len(report.errors))
        return report

    @cached_property
    def linked(self) -> Links:
        """Every link found in the files, errors included (mesh check reports them all)."""
        cache = ScanCache(self.context.layout.cache / "scan.json")
        found = link(list(self.domains.values()), cache, self.interface,
                     {name: e.interface for name, e in self.external.items()},
                     {name: e.reads for name, e in self.external.items()})
        cache.save()
        return found

    @property
    def links(self) -> Links:
        """The links, once they are known to be sound: raises the first problems found."""
        raise_all(self.linked.errors)
        self.linked.graph.check_acyclic()
        return self.linked

    @property
    def graph(self) -> MeshGraph:
        return self.links.graph

    def interface(self, domain: str) -> Optional[dict[str, Any]]:
        return load_interface(self.root, domain)

    def storages(self, options: BuildOptions = BuildOptions()) -> Storages:
        """Each domain's storage under `options`; one resolver per set of options, kept for the
        command, since every upstream of every domain asks."""
        key = (options.profiles_dir, options.target or self.config.target, os.environ.get("DBT_PROFILES_DIR"))
        if key not in self._storages:
            external = {n: external_storage(n, e, self.config, self.root) for n, e in self.external.items()}
            self._storages[key] = Storages(self.root, self.config, self.domains, options.profiles_dir, key[1], external)
        return self._storages[key]

    def storage(self, domain: str, options: BuildOptions = BuildOptions()) -> Storage:
        return self.storages(options).of(domain)

    def env(self, domain: str, options: BuildOptions = BuildOptions()) -> dict[str, str]:
        """What a dbt process of `domain` needs in its environment to run inside this mesh."""
        if domain not in self.domains:
            raise UnknownDomainError(domain, self.linked.graph.domains, hint="check --select/--exclude")
        return self.storages(options).env(domain, self.linked.graph.upstreams(domain))

    def selection(self, select: Iterable[str] = (),
                  exclude: Iterable[str] = ()) -> tuple[Selection, dict[str, list[str]]]:
        """The selection over the mesh, and the dbt --select arguments of each domain built in part."""
        select, exclude = list(select), list(exclude)
        if not any(w.is_model for w in parse_words([*select, *exclude])):
            return resolve(self.graph, None, [], select, exclude), {}
        from mesh_cli.catalog.lineage import MeshLineage  # imports sqlglot: only when a model word needs the model graph

        lineage = MeshLineage(self.context, newest=True)
        chosen = resolve(self.graph, lineage.graph, lineage.missing, select, exclude)
        selectors = {d: [dbt_selector(lineage.nodes[k]) for k in keys] for d, keys in chosen.nodes.items() if keys is not None}
        return chosen, selectors

    def describe(self, select: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[DomainInfo]:
        """`mesh ls`: each selected domain, its owner, links and public models."""
        chosen, _ = self.selection(select, exclude)
        return describe(self.context, self.graph, chosen, self.interface, not list(select) and not list(exclude))

    def plan(self, options: BuildOptions) -> list[DomainPlan]:
        """The plan of each selected domain, after every check that can run before anything builds."""
        from mesh_cli.app.planner import plan_domain, published

        selection, selectors = self.selection(options.select, options.exclude)
        selected = selection.domains
        chosen = set(selected)
        errors: list[MeshError] = []
        outside = {u for d in selected for u in self.graph.upstreams(d) if u not in chosen}
        for d in selected:
            errors += [NotBuiltError(d, u) for u in self.graph.upstreams(d) if u in outside and self.interface(u) is None]
        # Producers outside this run are judged now; producers in it, just before their consumer runs.
        crosses = [c for d in selected for c in self.links.refs_of(d) if c.producer in outside]
        errors += check_refs(crosses, published(self.interface, outside))
        storages = self.storages(options)
        errors += [e for d in selected for e in missing_storage(self.root, storages, self.external, d, self.graph.upstreams(d))]
        raise_all(errors)
        return [plan_domain(self.context, self.domains[d], storages, options, self.graph.upstreams(d),
                            [u for u in self.graph.upstreams(d) if u in chosen], self.interface(d) is not None,
                            selectors.get(d)) for d in selected]

    def run_build(self, options: BuildOptions, skip_checks: bool, progress: "BuildProgress",
                  lineage: Optional["LineageEmitter"] = None) -> Optional[BuildResult]:
        """`mesh build` from start to end: with `--changed`, only what is stale (None when nothing
        is); the checks unless skipped; the plan; the run, told to `progress` (and to `lineage`)."""
        checked = options
        if options.changed:
            stale = self.stale(options)   # reads files only: nothing changed means dbt is never started
            progress.changed(stale)
            if not stale:
                return None
            checked = replace(options, select=tuple(stale), exclude=())
        self.pool(options.workers).start(self._busy(checked))   # importing dbt while the mesh is planned
        if not skip_checks:
            progress.checked(self.gate(checked))
        plans = self.plan(options)
        progress.plan([p.domain for p in plans], options.workers)

        def on_result(result: DomainResult) -> None:
            progress.result(result)
            if lineage is not None:
                lineage.domain_done(result)

        if lineage is not None:
            lineage.start()
        try:
            result = self.run(plans, options, on_result=on_result, on_start=progress.start)
        finally:
            progress.close()
        if lineage is not None:
            lineage.finish(result.success)
            result.warnings[:0] = lineage.problems
        return result

    def dry_run(self, options: BuildOptions) -> list[DomainPlan]:
        """What `mesh build` would run, with `--changed` narrowed to what is stale now; runs nothing."""
        if options.changed:
            stale = self.stale(options)
            if not stale:
                return []
            options = replace(options, select=tuple(stale), exclude=())
        return self.plan(options)

    def lineage_emitter(self, file: Optional[Path], url: Optional[str]) -> Optional["LineageEmitter"]:
        """OpenLineage events for `mesh build --openlineage-file/--openlineage-url`, when asked for."""
        if file is None and url is None:
            return None
        from mesh_cli.execution.openlineage import LineageEmitter  # imports the OpenLineage client: only when asked for

        return LineageEmitter(self.config.name or self.root.name,
                              {name: d.target_dir for name, d in self.domains.items()}, file, url)

    def build(self, options: BuildOptions = BuildOptions(),
              on_result: Callable[[DomainResult], None] = lambda r: None) -> BuildResult:
        return self.run(self.plan(options), options, on_result)

    def run(self, plans: list[DomainPlan], options: BuildOptions,
            on_result: Callable[[DomainResult], None] = lambda r: None,
            on_start: Callable[[str], None] = lambda name: None) -> BuildResult:
        for storage in {self.storage(p.domain, options) for p in plans}:
            if storage.managed and storage.database is not None:
                storage.database.parent.mkdir(parents=True, exist_ok=True)
        from mesh_cli.app.planner import BuildGuards
        from mesh_cli.execution.scheduler import run_plan

        guards = BuildGuards(self.context, self.links, self.interface, lambda d: self.files_hash(d, options))
        guards = self.granting(guards, options)   # on a shared PostgreSQL: grants compiled from access
        try:
            with BuildLock(self.context.layout.base):
                result = run_plan(plans, guards, self.context.layout.logs, options.workers, on_result, on_start,
                                  pool=self.pool(options.workers))
                result.warnings += self.after_build(guards)   # the warehouse's: views restored, say
                summary = {**result.to_dict(), "invocation": options.to_dict()}
                self.context.layout.run_results.write_text(json.dumps(summary, indent=2), encoding="utf-8")
                result.warnings += record_safely(self.root, result, options, {p.domain: p.target_dir for p in plans})
        finally:
            self._release()
        return result
