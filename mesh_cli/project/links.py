"""Links between domains: resolves each ref found in the files to the domain it reads from."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from mesh_cli.governance.access import node_of, one_arg_producers
from mesh_cli.project.discovery import Domain
from mesh_cli.core.errors import AmbiguousRefError, MeshError, UnknownDomainError, UnknownModelError
from mesh_cli.project.graph import MeshGraph
from mesh_cli.state.interface import find_mesh_root, load_interface
from mesh_cli.project.refs import Ref, refable_nodes, scan_refs
from mesh_cli.project.scancache import ScanCache
from mesh_cli.core.yamlfile import line_of


@dataclass(frozen=True)
class CrossRef:
    """A ref from one domain to a model of another."""

    ref: Ref
    producer: str
    # A one-argument ref: the other domains defining that name that were not known to publish it
    # when linked. Judged again, over fresh interfaces, just before the consumer builds
    # (access.check_ref): it must land on exactly one public node.
    others: tuple[str, ...] = ()
    # Those of `others` never built (or whose node is newer than their build): they must build
    # first, so the consumer depends on them too.
    pending: tuple[str, ...] = ()


# A domain's published interface, None when it was never built.
Interfaces = Callable[[str], Optional[dict[str, Any]]]


@dataclass
class Links:
    graph: MeshGraph
    cross_refs: list[CrossRef]
    names: dict[str, set[str]]
    errors: list[MeshError]
    kinds: dict[str, dict[str, str]] = field(default_factory=dict)   # domain -> name -> resource type

    def refs_of(self, consumer: str) -> list[CrossRef]:
        return [c for c in self.cross_refs if c.ref.domain == consumer]


def _resolve(ref: Ref, domain: Domain, domains: dict[str, Domain], names: dict[str, set[str]],
             kinds: dict[str, dict[str, str]], interfaces: Interfaces) -> tuple[list[CrossRef], MeshError | None]:
    """What `ref` reads from other domains (nothing when it stays inside `domain`), or an error."""
    local = names[domain.name]
    if ref.package is not None:
        if ref.package == domain.name or ref.package in domain.packages:
            return [], None
        if ref.package in domains:
            if ref.name not in names[ref.package]:
                return [], UnknownModelError(domain.name, ref.package, ref.name, ref.file, ref.line)
            return [CrossRef(ref, ref.package)], None
        if domain.remote_packages:  # maybe a package from the hub, installed by dbt deps
            return [], None
        return [], UnknownDomainError(
            ref.package, sorted(domains), hint=f"fix the first argument of ref('{ref.package}', '{ref.name}')",
            file=ref.file, line=ref.line,
        )
    if ref.name in local:
        return [], None
    # A one-argument ref reaches another domain's node only when it is public, and only when a
    # single domain offers that name: dbt would pick one of several silently.
    access: dict[str, Optional[str]] = {}
    for owner in sorted(n for n, found in names.items() if n != domain.name and ref.name in found):
        interface = interfaces(owner)
        node = node_of(interface, ref.name, ref.version) if interface is not None else None
        access[owner] = node["access"] if node is not None else None
    candidates, refused = one_arg_producers(access)
    public = [c for c in candidates if access[c] is not None]
    if len(public) > 1:
        types = sorted({kinds.get(c, {}).get(ref.name, "model") for c in public})
        return [], AmbiguousRefError(domain.name, ref.name, public, ref.file, ref.line, ref.version,
                                     " or ".join(types))
    if candidates:
        # Where a domain was never built, its access is unknown until it is: decided before the
        # consumer builds, by then over every candidate's fresh interface.
        first, *rest = public + [c for c in candidates if c not in public]
        pending = tuple(c for c in rest if access[c] is None)
        return [CrossRef(ref, first, tuple(rest) + tuple(refused), pending)], None
    # Only non-public nodes of that name: each is refused by access.check_ref, as a two-argument ref would be.
    return [CrossRef(ref, owner) for owner in refused], None


def published(domains: list[Domain]) -> Interfaces:
    """The last good build's interfaces of the mesh these domains belong to (found as the plugin
    finds it: $MESH_ROOT, else the folder above them holding `.mesh/state`)."""
    root = find_mesh_root(Path(os.path.commonpath([d.path for d in domains]))) if domains else None
    return (lambda name: load_interface(root, name)) if root is not None else (lambda name: None)


def link(domains: list[Domain], cache: Optional[ScanCache] = None, interfaces: Optional[Interfaces] = None) -> Links:
    """`interfaces`: each domain's published interface (default: `published(domains)`), which tells
    one-argument refs where they land."""
    by_name = {d.name: d for d in domains}
    kinds = {d.name: refable_nodes(d, cache) for d in domains}
    names = {name: set(found) for name, found in kinds.items()}
    interfaces = interfaces or published(domains)
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
            found, error = _resolve(ref, d, by_name, names, kinds, interfaces)
            if error is not None:
                errors.append(error)
            for c in found:
                cross.append(c)
                for producer in (c.producer, *c.pending):
                    graph.link(producer, d.name, "ref", ref.name + (f".v{ref.version}" if ref.version else ""), ref.file.stem)
    return Links(graph, cross, names, errors, kinds)
