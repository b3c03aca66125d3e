"""The façade's methods for what changed: which domains are stale and why, `mesh status`, what
`mesh retry` builds again, and the memo a no-op `--changed` leaves. They read files only: no dbt."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from mesh_cli.core.options import BuildOptions
from mesh_cli.state import noop_memo
from mesh_cli.state.changes import current_fingerprint, staleness
from mesh_cli.state.fingerprint import domain_files_hash
from mesh_cli.state.records import DomainStatus
from mesh_cli.state.records import status as history_status

if TYPE_CHECKING:
    from mesh_cli.project.context import MeshContext
    from mesh_cli.project.discovery import Domain
    from mesh_cli.project.graph import MeshGraph
    from mesh_cli.state.storage import Storage


class ChangeTracking:
    """Mixed into Mesh, which provides what these methods read."""

    root: Path
    context: "MeshContext"
    domains: dict[str, "Domain"]
    external: dict[str, Any]
    notes: list[str]
    graph: "MeshGraph"
    _files: dict[tuple[str, Optional[Path], Optional[str]], str]

    def storage(self, domain: str, options: BuildOptions = BuildOptions()) -> "Storage": ...
    def interface(self, domain: str) -> Optional[dict[str, Any]]: ...

    def files_hash(self, domain: str, options: BuildOptions = BuildOptions()) -> str:
        key = (domain, options.profiles_dir, options.target)
        if key not in self._files:   # hashed once per command: --changed and the plan both ask
            self._files[key] = domain_files_hash(self.domains[domain], self.storage(domain, options).profiles_dir)
        return self._files[key]

    def staleness(self, options: BuildOptions, names: Optional[list[str]] = None) -> dict[str, Optional[str]]:
        """For each selected domain (in build order), why it needs a build now, None when up to date."""
        chosen = names if names is not None else self.graph.select(options.select, options.exclude)
        now = {n: current_fingerprint(self.files_hash(n, options), self.interface(n),
                                      {u: self.interface(u) for u in self.graph.upstreams(n)}) for n in chosen}
        return staleness(self.root, now)

    def stale(self, options: BuildOptions) -> dict[str, str]:
        """The selected domains that need a build now, and why (files or upstream interfaces changed)."""
        return {name: why for name, why in self.staleness(options).items() if why is not None}

    def status(self, options: BuildOptions) -> list[DomainStatus]:
        """`mesh status`: each selected domain's last successful build and whether it is stale."""
        return history_status(self.root, self.staleness(options))

    def remember_noop(self, output: str) -> bool:
        """Keep what this `--changed` no-op read and printed, so that the entry point can answer the
        same command again without loading the mesh. Not for a mesh with external domains: their
        state may come from a location that is not a file here."""
        return not self.external and not self.notes and noop_memo.record(self.root, output)

    def retry_options(self, options: BuildOptions) -> Optional[BuildOptions]:
        """The last build's options, narrowed to the domains that failed, were skipped or were
        cancelled; None when it succeeded. `options` overrides what it sets."""
        from mesh_cli.app.planner import retry_options

        return retry_options(self.context.layout.run_results, options)
