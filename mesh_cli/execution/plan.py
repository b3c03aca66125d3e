"""A run's plan as data: for each domain, the dbt invocations, environment, storage, selection and
upstreams, and what happens on success and on failure, computed once before anything starts.
The scheduler executes it; `mesh build --dry-run` prints it.

The orchestrator and its workers speak the versioned schema below (`WorkerJob` or `WorkerDecision`
one way, `WorkerReply` the other), as JSON lines; a worker refuses a message of another schema
version."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict

from mesh_cli.project.discovery import Domain
from mesh_cli.state.storage import StorageKey

SCHEMA = 2


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DbtCall(_Frozen):
    """One domain's dbt invocations, run in order in one worker; the first that fails stops them."""

    project_dir: Path
    profiles_dir: Path
    steps: tuple[str, ...]
    target: Optional[str] = None
    profile: Optional[str] = None          # passed when the project's own profile is defined nowhere
    threads: Optional[int] = None
    select: tuple[str, ...] = ()           # a model selection: only these nodes (tests follow)
    catalog: tuple[str, ...] = ()          # data products whose warehouse types are read after the build
    # A parse for mesh's own reading (the check's): dbt writes no manifest.json into target/ (writing
    # dbt's ~1,000 macros is most of that); the worker writes the manifest here without them.
    manifest_out: Optional[Path] = None

    def common(self) -> list[str]:
        args = ["--project-dir", str(self.project_dir), "--profiles-dir", str(self.profiles_dir)]
        args += ["--target", self.target] if self.target else []
        return args + (["--profile", self.profile] if self.profile else [])

    def args(self, command: str) -> list[str]:
        """The arguments dbt is given for `command`."""
        args = [command, *self.common()]
        if command in ("build", "seed") and self.threads:
            args += ["--threads", str(self.threads)]
        if command == "build" and self.select:
            args += ["--select", *self.select]
        if command == "parse" and self.manifest_out is not None:
            args += ["--no-write-json"]
        return args

    def catalog_args(self) -> list[str]:
        return ["docs", "generate", "--no-compile", "--select", *self.catalog, *self.common()]


class Packages(_Frozen):
    """Upstream domains the project also installs as local packages: stubbed before dbt runs."""

    install_dir: Path
    domains: tuple[str, ...] = ()

    @classmethod
    def of(cls, domain: Domain) -> "Packages":
        return cls(install_dir=domain.path / domain.packages_install_path, domains=domain.domain_packages)


class Staging(_Frozen):
    """The domain builds its DuckDB file in place, at the path dbt always sees (so dbt's partial
    parsing holds), and its changes stay in DuckDB's write-ahead log until the build succeeded;
    `marker` says a build is under way (state/staging.py)."""

    database: Path
    marker: Path
    config: dict[str, Any] = {}   # the profile's config_options, which the worker opens the file with


class DomainPlan(_Frozen):
    domain: str
    project_dir: Path
    target_dir: Path
    dbt: DbtCall
    env: dict[str, str]                     # set for its dbt process, on top of the worker's own
    packages: Packages
    upstreams: tuple[str, ...] = ()         # domains of this run it waits for
    writes: Optional[StorageKey] = None     # storage it writes; never two writers at once
    reads: tuple[StorageKey, ...] = ()      # storages it attaches
    staging: Optional[Staging] = None
    publish_to: Optional[Path] = None       # on success, its interface is published into this state folder
    fingerprint: bool = False               # on success, record its files' fingerprint (`--changed`)
    only_if_stale: bool = False             # `--changed`: decided when it would start
    contracts: tuple[str, ...] = ()         # published data products checked against the warehouse

    def to_dict(self) -> dict[str, Any]:
        """What `mesh build --dry-run --format json` prints: the plan, with dbt's full arguments."""
        data = self.model_dump(mode="json")
        data["dbt"]["invocations"] = [self.dbt.args(s) for s in self.dbt.steps] + (
            [self.dbt.catalog_args()] if self.dbt.catalog else [])
        return data


class WorkerJob(_Frozen):
    """What the orchestrator sends a worker: one domain's dbt call and where to write.

    `hold`: the DuckDB file the worker opens first and keeps open after a successful job, its
    changes uncommitted, until a WorkerDecision. `manifest_key`: what the parse depends on; a
    `parse` step keeps its manifest under it, and a later job of the domain with the same key
    builds with that manifest instead of parsing again."""

    schema_version: Literal[2] = SCHEMA
    domain: str
    dbt: DbtCall
    env: dict[str, str]
    packages: Packages
    cwd: Path
    log: Path
    target_dir: Path
    result_file: Path
    hold: Optional[Path] = None
    hold_config: dict[str, Any] = {}
    manifest_key: Optional[str] = None


class WorkerDecision(_Frozen):
    """After a job that left its database held: write the build's changes into the file, or drop them."""

    schema_version: Literal[2] = SCHEMA
    commit: bool


class StepResult(_Frozen):
    command: str
    exit_code: Optional[int] = None         # None while it runs
    exception: Optional[str] = None
    reference: Optional[dict[str, Optional[str]]] = None   # dbt's refusal of a ref, as its fields


class WorkerReply(_Frozen):
    """What a worker answers when the job is done (or raised)."""

    schema_version: Literal[2] = SCHEMA
    steps: tuple[StepResult, ...] = ()
    invocations: tuple[str, ...] = ()       # dbt's invocation ids, as written into its artifacts
    catalog: Optional[dict[str, dict[str, str]]] = None   # unique_id -> column -> warehouse type
    held: bool = False                      # the database stays open, its changes uncommitted
    reused_parse: bool = False              # built with the manifest of an earlier parse job
