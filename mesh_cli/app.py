"""The façade the CLI calls: load a mesh once, then list, graph, check refs and build it."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from mesh_cli.governance.access import check_refs
from mesh_cli.execution.scheduler import BuildResult, DomainResult, Task, run_tasks
from mesh_cli.core.config import MeshConfig, load_config
from mesh_cli.contracts.conformance import conformance
from mesh_cli.contracts.store import published_contracts
from mesh_cli.project.discovery import Domain, discover
from mesh_cli.core.errors import ChecksFailedError, ConfigError, MeshError, NotBuiltError, NothingToRetryError, UnknownDomainError, raise_all
from mesh_cli.governance.findings import CheckReport
from mesh_cli.governance.policy import Policy
from mesh_cli.project.graph import MeshGraph
from mesh_cli.state.history import record_safely
from mesh_cli.state.fingerprint import Fingerprint, domain_files_hash, interface_hash, why_stale
from mesh_cli.state.fingerprint import load as load_fingerprint
from mesh_cli.state.fingerprint import write_pending as write_pending_fingerprint
from mesh_cli.state.interface import STATE_DIR, load_interface, prepare_publication, state_dir
from mesh_cli.project.links import Links, link
from mesh_cli.project.selection import selection_of
from mesh_cli.state.lock import BuildLock
from mesh_cli.project.scancache import ScanCache
from mesh_cli.state.staging import StagedDatabase, replace_together
from mesh_cli.state.storage import PATH_ENV, Storage, domain_env, resolve_storage
from mesh_cli.execution.pool import WorkerPool


@dataclass
class BuildOptions:
    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    target: Optional[str] = None
    profiles_dir: Optional[Path] = None
    threads: Optional[int] = None
    workers: int = field(default_factory=lambda: default_workers())
    changed: bool = False     # only domains whose files or upstream interfaces changed

    def to_dict(self) -> dict[str, Any]:
        """What a later `mesh retry` needs to run the same build again."""
        return {"select": list(self.select), "exclude": list(self.exclude), "target": self.target,
                "profiles_dir": str(self.profiles_dir) if self.profiles_dir else None, "threads": self.threads,
                "workers": self.workers, "changed": self.changed}


WORKERS_ENV = "MESH_WORKERS"


def default_workers() -> int:
    """$MESH_WORKERS, else one domain per core this process may use (a container or `taskset` may
    allow fewer than the machine has): dbt is mostly one busy core per running domain."""
    value = os.environ.get(WORKERS_ENV)
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ConfigError(f"${WORKERS_ENV}={value}", "must be a whole number of at least 1",
                              f"set {WORKERS_ENV} to the number of domains to build at once, or unset it")
        return int(value)
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    return max(1, len(usable) if usable else os.cpu_count() or 2)


@dataclass
class DomainInfo:
    name: str
    path: str
    owner: dict[str, Optional[str]]
    upstreams: list[str]
    downstreams: list[str]
    built: bool
    public_models: list[dict[str, Any]] = field(default_factory=list)
    # Only when a model word is given: {"all": whether dbt builds the whole domain, "models": what it
    # builds, in build order (None when the domain was never parsed)}.
    builds: Optional[dict[str, Any]] = None

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


class Mesh:
    def __init__(self, root: Path, config: MeshConfig, domains: list[Domain]) -> None:
        self.root = root
        self.config = config
        self.domains = {d.name: d for d in domains}
        self.policy = Policy(config.governance, root / "mesh.yml")  # validated with the rest of the config
        self._pool: Optional[WorkerPool] = None
        self._session = False  # inside `with mesh:` the pool outlives each call
        self._storage: dict[tuple[str, Optional[Path], Optional[str], Optional[str]], Storage] = {}
        self._files: dict[tuple[str, Optional[Path], Optional[str]], str] = {}

    def pool(self, workers: int) -> WorkerPool:
        """Warm dbt worker processes, shared by a check and the build after it; closed by close()."""
        if self._pool is None or self._pool.size != workers:
            self.close()
            self._pool = WorkerPool(workers, self.state_dir / "logs")
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
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
    def load(cls, project_dir: Path | str = ".") -> "Mesh":
        root = Path(project_dir).resolve()
        config, _ = load_config(root)
        return cls(root, config, discover(root, config))

    def check(self, options: BuildOptions = BuildOptions()) -> CheckReport:
        """Every rule over the selected domains; parses with dbt, builds nothing."""
        from mesh_cli.governance.check import run_check  # imports sqlglot: only when checking

        try:
            return run_check(self, self.policy, options)
        finally:
            self._release()

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
        cache = ScanCache(self.state_dir / "cache" / "scan.json")
        found = link(list(self.domains.values()), cache)
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

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    def interface(self, domain: str) -> Optional[dict[str, Any]]:
        return load_interface(self.root, domain)

    def storage(self, domain: str, options: BuildOptions = BuildOptions()) -> Storage:
        target = options.target or self.config.target
        key = (domain, options.profiles_dir, target, os.environ.get("DBT_PROFILES_DIR"))
        if key not in self._storage:  # asked for every upstream of every domain: read profiles once
            self._storage[key] = resolve_storage(self.domains[domain], self.root, self.config,
                                                 options.profiles_dir, target)
        return self._storage[key]

    def env(self, domain: str, options: BuildOptions = BuildOptions()) -> dict[str, str]:
        """What a dbt process of `domain` needs in its environment to run inside this mesh."""
        if domain not in self.domains:
            raise UnknownDomainError(domain, self.linked.graph.domains, hint="check --select/--exclude")
        ups = [(u, self.storage(u, options)) for u in self.linked.graph.upstreams(domain)]
        return domain_env(self.root, self.domains[domain], self.storage(domain, options), ups)

    def describe(self, select: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[DomainInfo]:
        chosen, _ = selection_of(self, select, exclude)
        infos = []
        for name in chosen.domains:
            interface = self.interface(name)
            owner = self.domains[name].owner
            models = [
                {"name": m["name"], "version": m["version"], "latest_version": m["latest_version"],
                 "deprecation_date": m["deprecation_date"], "contract_enforced": m["contract_enforced"],
                 "group": m["group"]}
                for m in (interface or {}).get("models", []) if m["access"] == "public"
            ]
            infos.append(DomainInfo(
                name, str(self.domains[name].path.relative_to(self.root)) if self.domains[name].path.is_relative_to(self.root) else str(self.domains[name].path),
                {"team": owner.team if owner else None, "email": owner.email if owner else None},
                self.graph.upstreams(name), self.graph.downstreams(name), interface is not None, models,
                None if chosen.builds is None else
                {"all": chosen.nodes[name] is None, "models": _names(name, chosen.builds[name])},
            ))
        return infos

    def _steps(self, domain: Domain) -> list[str]:
        steps = []
        if domain.has_packages and not domain.packages_installed:
            steps.append("deps")
        # dbt build does not order seeds before models that read them through source(): seed first
        # on a domain's first build so such projects build on an empty warehouse.
        if self.interface(domain.name) is None and domain.seed_files():
            steps.append("seed")
        return steps + ["build"]

    def _interfaces(self, names: Iterable[str]) -> dict[str, dict[str, Any]]:
        return {n: i for n in names if (i := self.interface(n)) is not None}

    def plan(self, options: BuildOptions) -> list[Task]:
        """Tasks for the selected domains, after every check that can run before anything builds."""
        selection, selectors = selection_of(self, options.select, options.exclude)
        selected = selection.domains
        chosen = set(selected)
        errors: list[MeshError] = []
        outside = {u for d in selected for u in self.graph.upstreams(d) if u not in chosen}
        for d in selected:
            errors += [NotBuiltError(d, u) for u in self.graph.upstreams(d) if u in outside and self.interface(u) is None]
        # Producers outside this run are judged now; producers in it, just before their consumer runs.
        crosses = [c for d in selected for c in self.links.refs_of(d) if c.producer in outside]
        errors += check_refs(crosses, self._interfaces(outside))
        raise_all(errors)
        return [self._task(d, chosen, options, selectors.get(d)) for d in selected]

    def _task(self, name: str, chosen: set[str], options: BuildOptions, select: Optional[list[str]] = None) -> Task:
        """`select`: dbt's --select for this domain's build when a model word picked only some of its models."""
        domain = self.domains[name]
        storage = self.storage(name, options)
        ups = self.graph.upstreams(name)
        in_run = [u for u in ups if u in chosen]
        reads = frozenset(k for u in ups if (k := self.storage(u, options).key) is not None)

        def before() -> list[MeshError]:
            self.files_hash(name, options)   # the files as they are when dbt starts (kept for after())
            return check_refs([c for c in self.links.refs_of(name) if c.producer in in_run], self._interfaces(in_run))

        contracts = published_contracts(self.root, name)
        staged = StagedDatabase(storage.database) if storage.managed and storage.database is not None else None

        def env() -> dict[str, str]:
            values = self.env(name, options)
            return {**values, PATH_ENV: str(staged.building)} if staged is not None else values

        def up_to_date() -> Optional[str]:
            ups_now = {u: interface_hash(self.interface(u)) for u in ups}
            why = why_stale(load_fingerprint(state_dir(self.root, name)), self.files_hash(name, options), ups_now)
            return None if why else "up to date: no file or upstream interface changed since its last build"

        def after() -> None:
            """Swap the database in and publish the interface (and fingerprint) as one change: all
            that can fail is done first, then each file is moved into place; on a failure the
            database and state are put back as they were. Raises OSError or ValueError."""
            publication = prepare_publication(self.root, name, domain.target_dir)
            moves = publication.moves
            try:
                if select is None:  # a build of some models leaves the domain as a whole no fresher
                    ups_now = {u: interface_hash(self.interface(u)) for u in ups}
                    fingerprint = Fingerprint(self.files_hash(name, options), interface_hash(publication.interface), ups_now)
                    moves = moves + [write_pending_fingerprint(state_dir(self.root, name), fingerprint)]
                replace_together((staged.moves() if staged is not None else []) + moves)
            finally:
                for new, _ in moves:   # what was not moved into place
                    if new is not None:
                        new.unlink(missing_ok=True)

        return Task(
            domain=name, project_dir=domain.path, target_dir=domain.target_dir,
            spec={"project_dir": str(domain.path), "profiles_dir": str(storage.profiles_dir), "profile": storage.profile,
                  "target": options.target or self.config.target, "threads": options.threads,
                  "steps": self._steps(domain), "target_dir": str(domain.target_dir), "select": select,
                  **domain.package_spec,
                  # the published data products, checked against the warehouse once built
                  "catalog": sorted({c.model for c in contracts})},
            env=env, upstreams=in_run, writes=storage.key, reads=reads,
            before=before, after=after,
            prepare=staged.prepare if staged is not None else (lambda: None),
            discard=staged.discard if staged is not None else (lambda: None),
            up_to_date=up_to_date if options.changed else (lambda: None),
            verify=lambda outcome: conformance(contracts, outcome.get("catalog") or {}) if contracts else [],
        )

    def build(self, options: BuildOptions = BuildOptions(),
              on_result: Callable[[DomainResult], None] = lambda r: None) -> BuildResult:
        return self.run(self.plan(options), options, on_result)

    def run(self, tasks: list[Task], options: BuildOptions,
            on_result: Callable[[DomainResult], None] = lambda r: None,
            on_start: Callable[[str], None] = lambda name: None) -> BuildResult:
        for storage in {self.storage(t.domain, options) for t in tasks}:
            if storage.managed and storage.database is not None:
                storage.database.parent.mkdir(parents=True, exist_ok=True)
        try:
            with BuildLock(self.state_dir):
                result = run_tasks(tasks, self.state_dir / "logs", options.workers, on_result, on_start,
                                   pool=self.pool(options.workers))
                summary = {**result.to_dict(), "invocation": options.to_dict()}
                (self.state_dir / "run_results.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
                result.warnings += record_safely(self.root, result, options, {t.domain: t.target_dir for t in tasks})
        finally:
            self._release()
        return result

    # --- what changed, what to retry ---------------------------------------------------------------

    def files_hash(self, domain: str, options: BuildOptions = BuildOptions()) -> str:
        key = (domain, options.profiles_dir, options.target)
        if key not in self._files:   # hashed once per command: --changed and the plan both ask
            self._files[key] = domain_files_hash(self.domains[domain], self.storage(domain, options).profiles_dir)
        return self._files[key]

    def stale(self, options: BuildOptions) -> dict[str, str]:
        """The selected domains that need a build now, and why (files or upstream interfaces changed)."""
        from mesh_cli.state.changes import staleness

        found = staleness(self, options, self.graph.select(options.select, options.exclude))
        return {name: why for name, why in found.items() if why is not None}

    def retry_options(self, options: BuildOptions) -> Optional[BuildOptions]:
        """The last build's options, narrowed to the domains that failed, were skipped or were
        cancelled; None when it succeeded. `options` overrides what it sets."""
        path = self.state_dir / "run_results.json"
        if not path.is_file():
            raise NothingToRetryError(path)
        last = json.loads(path.read_text(encoding="utf-8"))
        again = [d["domain"] for d in last.get("domains", []) if d.get("status") in ("error", "skipped", "cancelled")]
        if not again:
            return None
        before = last.get("invocation") or {}
        return BuildOptions(
            select=tuple(again), target=options.target or before.get("target"),
            profiles_dir=options.profiles_dir or (Path(before["profiles_dir"]) if before.get("profiles_dir") else None),
            threads=options.threads or before.get("threads"), workers=options.workers)


def _names(domain: str, keys: Optional[list[str]]) -> Optional[list[str]]:
    """`core.dim_people.v1` -> `dim_people.v1`: names inside their domain."""
    return None if keys is None else [k.removeprefix(f"{domain}.") for k in keys]
