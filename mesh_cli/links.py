"""Links between domains: resolves each ref found in the files to the domain it reads from."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from mesh_cli.discovery import Domain
from mesh_cli.errors import MeshError, UnknownDomainError, UnknownModelError
from mesh_cli.graph import MeshGraph
from mesh_cli.refs import Ref, model_names, scan_refs
from mesh_cli.scancache import ScanCache
from mesh_cli.yamlfile import line_of


@dataclass(frozen=True)
class CrossRef:
    """A ref from one domain to a model of another."""

    ref: Ref
    producer: str


@dataclass
class Links:
    graph: MeshGraph
    cross_refs: list[CrossRef]
    names: dict[str, set[str]]
    errors: list[MeshError]

    def refs_of(self, consumer: str) -> list[CrossRef]:
        return [c for c in self.cross_refs if c.ref.domain == consumer]


def _resolve(ref: Ref, domain: Domain, domains: dict[str, Domain], names: dict[str, set[str]]) -> tuple[str | None, MeshError | None]:
    """The producing domain of `ref`, None when it stays inside `domain`, or an error."""
    local = names[domain.name]
    if ref.package is not None:
        if ref.package == domain.name or ref.package in domain.packages:
            return None, None
        if ref.package in domains:
            if ref.name not in names[ref.package]:
                return None, UnknownModelError(domain.name, ref.package, ref.name, ref.file, ref.line)
            return ref.package, None
        if domain.remote_packages:  # maybe a package from the hub, installed by dbt deps
            return None, None
        return None, UnknownDomainError(
            ref.package, sorted(domains), hint=f"fix the first argument of ref('{ref.package}', '{ref.name}')",
            file=ref.file, line=ref.line,
        )
    if ref.name in local:
        return None, None
    owners = sorted(n for n, found in names.items() if n != domain.name and ref.name in found)
    # A one-argument ref resolves to another domain's model when its name is unique (as in dbt Mesh).
    return (owners[0], None) if owners else (None, None)


def link(domains: list[Domain], cache: Optional[ScanCache] = None) -> Links:
    by_name = {d.name: d for d in domains}
    names = {d.name: model_names(d, cache) for d in domains}
    # Local packages' models are refable without a project name.
    for d in domains:
        for package in d.packages:
            if package in names:
                names[d.name] |= names[package]
    graph = MeshGraph(by_name)
    cross: list[CrossRef] = []
    errors: list[MeshError] = []
    for d in domains:
        for upstream in d.declared:
            if upstream not in by_name:
                deps = d.path / "dependencies.yml"
                line = line_of(deps, rf"name:\s*['\"]?{re.escape(upstream)}\b") or 1
                errors.append(UnknownDomainError(
                    upstream, sorted(by_name), hint="remove it or add that project to the mesh", file=deps, line=line,
                ))
            elif upstream != d.name:
                graph.link(upstream, d.name, "declared")
        for upstream in d.loom:
            if upstream in by_name and upstream != d.name:
                graph.link(upstream, d.name, "dbt_loom")
        for ref in scan_refs(d, cache):
            producer, error = _resolve(ref, d, by_name, names)
            if error is not None:
                errors.append(error)
            elif producer is not None:
                cross.append(CrossRef(ref, producer))
                graph.link(producer, d.name, "ref", ref.name + (f".v{ref.version}" if ref.version else ""), ref.file.stem)
    return Links(graph, cross, names, errors)
