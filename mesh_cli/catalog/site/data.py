"""What the docs site shows, gathered once from a loaded mesh: domains, products, lineage, builds."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import networkx as nx

from mesh_cli.catalog.products import Product, products
from mesh_cli.catalog.lineage import MeshLineage
from mesh_cli.project.context import MeshContext
from mesh_cli.project.graph import MeshGraph
from mesh_cli.catalog.site.layout import model_graph


@dataclass
class DomainPage:
    name: str
    description: str = ""
    owner_team: Optional[str] = None
    owner_email: Optional[str] = None
    upstreams: list[str] = field(default_factory=list)
    downstreams: list[str] = field(default_factory=list)
    built_at: Optional[str] = None      # when its last good build's manifest was written
    last_run: Optional[str] = None      # its status in the last `mesh build`, when it was in it
    external: Optional[str] = None      # built in another repository: where its state was published


@dataclass
class SiteData:
    name: str
    domains: list[DomainPage]
    products: list[Product]
    lineage: nx.DiGraph
    dbt_version: Optional[str] = None

    def products_of(self, domain: str) -> list[Product]:
        return [p for p in self.products if p.domain == domain]


def collect(ctx: MeshContext, graph: MeshGraph) -> SiteData:
    state = ctx.layout.state
    runs = _last_runs(ctx.layout.run_results)
    domains, dbt_version = [], None
    for name in graph.order():
        owner = ctx.domains[name].owner
        settings = ctx.config.domains.get(name)
        meta = _manifest_metadata(state / name / "manifest.json")
        dbt_version = dbt_version or meta.get("dbt_version")
        domains.append(DomainPage(
            name, " ".join(((settings.description if settings else None) or "").split()),
            owner.team if owner else None, owner.email if owner else None,
            graph.upstreams(name), graph.downstreams(name), meta.get("generated_at"), runs.get(name)))
    for name in graph.external:   # other repositories' domains, as their published state says
        ext = ctx.external[name]
        domains.append(DomainPage(name, " ".join((ext.state.get("description") or "").split()), ext.owner.get("team"),
                                  ext.owner.get("email"), graph.upstreams(name), graph.downstreams(name),
                                  ext.state.get("built_at"), None, ext.location))
    return SiteData(ctx.config.name or ctx.root.name, sorted(domains, key=lambda d: d.name),
                    sorted(products(ctx), key=lambda p: p.key), model_graph(MeshLineage(ctx).graph), dbt_version)


def _manifest_metadata(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8")).get("metadata") or {}


def _last_runs(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    return {d["domain"]: d["status"] for d in json.loads(path.read_text(encoding="utf-8")).get("domains", [])}
