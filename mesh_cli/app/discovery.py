"""The façade's methods for finding and judging data products: catalog, lineage, docs site and
contracts. Each hands the features the context and what else they use, never the façade."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Optional

from mesh_cli.core.options import BuildOptions

if TYPE_CHECKING:
    from mesh_cli.catalog.lineage import Lineage
    from mesh_cli.catalog.products import Catalog, Product
    from mesh_cli.catalog.site import SiteResult
    from mesh_cli.contracts.operations import DeprecationUse, DiffReport
    from mesh_cli.contracts.store import PublishResult
    from mesh_cli.governance.findings import CheckReport
    from mesh_cli.governance.policy import Policy
    from mesh_cli.project.context import MeshContext
    from mesh_cli.project.graph import MeshGraph
    from mesh_cli.project.links import Links
    from mesh_cli.state.remote import Published
    from mesh_cli.state.storage import Storages


class Discovery:
    """Mixed into Mesh, which provides what these methods read."""

    context: "MeshContext"
    policy: "Policy"
    linked: "Links"
    graph: "MeshGraph"
    check: Callable[..., "CheckReport"]
    storages: Callable[..., "Storages"]
    interface: Callable[[str], Optional[dict]]

    def catalog(self) -> "Catalog":
        from mesh_cli.catalog.products import Catalog

        return Catalog.load(self.context)

    def products(self, query: Optional[str] = None, domain: Optional[str] = None, tag: Optional[str] = None) -> list["Product"]:
        return self.catalog().search(query, domain, tag)

    def product(self, key: str) -> "Product":
        return self.catalog().get(key)

    def lineage(self, name: str, direction: str = "both", depth: Optional[int] = None,
                column: Optional[str] = None) -> "Lineage":
        from mesh_cli.catalog.lineage import lineage  # imports sqlglot: only when asked for

        return lineage(self.context, name, direction, depth, column)

    def docs(self, out: Optional[Path] = None) -> "SiteResult":
        from mesh_cli.catalog import site  # the site pulls in lineage and sqlglot: only when asked for

        return site.generate(self.context, self.graph, out)

    # --- contracts: parsed by dbt through the check, compared and published by the contracts feature ---

    def publish_contracts(self, options: BuildOptions = BuildOptions(), check: bool = False) -> "PublishResult":
        from mesh_cli.contracts.operations import publish_contracts

        return publish_contracts(self.context, self.policy, self.check(options), check)

    def diff_contracts(self, options: BuildOptions = BuildOptions(), base: Optional[str] = None,
                       against: Optional[Path] = None) -> "DiffReport":
        from mesh_cli.contracts.operations import diff_contracts

        from mesh_cli.contracts.reads import external_readers

        elsewhere = [r for name, e in self.context.external.items()
                     for r in external_readers(name, e.reads, set(self.context.domains),
                                               (e.state.get("mesh") or {}).get("name") or name)]
        return diff_contracts(self.context, self.policy, self.check(options), self.linked, base, against, elsewhere)

    def publish(self, to: str, select: Iterable[str] = (), exclude: Iterable[str] = ()) -> list["Published"]:
        """`mesh publish`: each selected domain's state after its last good build, written to `to`."""
        from mesh_cli.app.federation import publish_domains

        chosen = self.graph.select(select, exclude)
        return publish_domains(self.context, self.linked, self.policy, self.storages(), self.interface, chosen, to)

    def deprecations(self, within_days: Optional[int] = None, today: Optional[date] = None) -> tuple[list["DeprecationUse"], list[str]]:
        from mesh_cli.contracts.operations import deprecations

        return deprecations(self.context, self.linked, within_days, today)
