"""`mesh ls`: what each selected domain is, whom it reads and who reads it, what it publishes."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from mesh_cli.project.context import MeshContext
from mesh_cli.project.graph import MeshGraph
from mesh_cli.project.links import Interfaces
from mesh_cli.project.selection import Selection


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
    external: Optional[str] = None   # built in another repository: where its state is published

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()



def describe(ctx: MeshContext, graph: MeshGraph, chosen: Selection, interface: Interfaces,
             external: bool = False) -> list[DomainInfo]:
    """Each chosen domain; with `external`, then every external domain (never selected: not built here)."""
    infos = []
    for name in chosen.domains:
        found = interface(name)
        owner = ctx.domains[name].owner
        models = _public(found)
        infos.append(DomainInfo(
            name, str(ctx.relative(ctx.domains[name].path)),
            {"team": owner.team if owner else None, "email": owner.email if owner else None},
            graph.upstreams(name), graph.downstreams(name), found is not None, models,
            None if chosen.builds is None else
            {"all": chosen.nodes[name] is None, "models": _names(name, chosen.builds[name])},
        ))
    for name in graph.external if external else []:
        ext = ctx.external[name]
        infos.append(DomainInfo(name, ext.location, {"team": ext.owner.get("team"), "email": ext.owner.get("email")},
                                graph.upstreams(name), graph.downstreams(name), True, _public(ext.interface),
                                external=f"{ext.location} (build {ext.build_id}{', offline' if ext.offline else ''})"))
    return infos


def _public(found: Optional[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"name": m["name"], "version": m["version"], "latest_version": m["latest_version"],
             "deprecation_date": m["deprecation_date"], "contract_enforced": m["contract_enforced"], "group": m["group"]}
            for m in (found or {}).get("models", []) if m["access"] == "public"]


def _names(domain: str, keys: Optional[list[str]]) -> Optional[list[str]]:
    """`core.dim_people.v1` -> `dim_people.v1`: names inside their domain."""
    return None if keys is None else [k.removeprefix(f"{domain}.") for k in keys]
