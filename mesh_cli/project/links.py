"""Links between domains: resolves each ref found in the files to the domain it reads from."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from mesh_cli.project.discovery import Domain
from mesh_cli.core.errors import AmbiguousRefError, MeshError, UnknownDomainError, UnknownModelError
from mesh_cli.project.graph import MeshGraph
from mesh_cli.project.refs import Ref, refable_nodes, scan_refs
from mesh_cli.project.scancache import ScanCache
from mesh_cli.core.yamlfile import line_of


PUBLIC = "public"


def versions_of(models: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [m for m in models if m["name"] == name]


def node_of(interface: dict[str, Any], name: str, version: Optional[str] = None) -> Optional[dict[str, Any]]:
    """The node a ref lands on: the pinned version, else the latest one (as dbt resolves it)."""
    found = versions_of(interface.get("models", []), name)
    if version is not None:
        found = [m for m in found if str(m["version"]) == str(version)]
    latest = [m for m in found if str(m.get("version")) == str(m.get("latest_version"))]
    return (latest or found or [None])[0]


def one_arg_producers(access: Mapping[str, Optional[str]]) -> tuple[list[str], list[str]]:
    """Where a one-argument ref to a name of other domains may land: (candidates, refused).

    `access` maps each other domain whose files define the name to the access its published
    interface gives that node, or None when unknown (never built, or added since). Candidates are
    the public ones and, conservatively, the unknown ones (they may turn out public); refused are
    those known not to be public."""
    candidates = sorted(d for d, a in access.items() if a is None or a == PUBLIC)
    refused = sorted(d for d, a in access.items() if a is not None and a != PUBLIC)
    return candidates, refused


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


def _resolve(ref: Ref, domain: Domain, domains: Mapping[str, object], names: dict[str, set[str]],
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
            ref.package, sorted(domains), hint=f"fix the first argument of ref('{ref.package}', '{ref.name}'), or list "
            f"'{ref.package}' under external_domains: in mesh.yml when it is built in another repository",
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


def link(domains: list[Domain], cache: Optional[ScanCache] = None, interfaces: Optional[Interfaces] = None,
         external: Optional[Mapping[str, dict[str, Any]]] = None,
         external_reads: Optional[Mapping[str, list[dict[str, Any]]]] = None) -> Links:
    """`interfaces`: each domain's published interface (None when never built), which tells
    one-argument refs where they land. `external`: the interfaces of domains of other repositories,
    whose nodes are known from what they published rather than from files."""
    by_name = {d.name: d for d in domains}
    kinds = {d.name: refable_nodes(d, cache) for d in domains}
    external = external or {}
    for name, interface in external.items():
        kinds[name] = {m["name"]: str(m.get("resource_type") or "model") for m in interface.get("models", [])}
    known: dict[str, object] = {**by_name, **external}   # every domain a ref may name
    names = {name: set(found) for name, found in kinds.items()}
    interfaces = interfaces or (lambda name: None)
    # Local packages' models are refable without a project name.
    for d in domains:
        for package in d.packages:
            if package in names:
                names[d.name] |= names[package]
    graph = MeshGraph(by_name, external)
    cross: list[CrossRef] = []
    errors: list[MeshError] = []
    # What external domains published they read (issue 14): edges to them, so a producer sees its
    # consumers in other repositories.
    for consumer, reads in sorted((external_reads or {}).items()):
        for r in reads:
            if r.get("producer") in known and r["producer"] != consumer:
                model = r["name"] + (f".v{r['version']}" if r.get("version") is not None else "")
                graph.link(r["producer"], consumer, "published", model, r.get("model"))
    for d in domains:
        for upstream in d.declared:
            if upstream not in known:
                deps = d.path / "dependencies.yml"
                line = line_of(deps, rf"name:\s*['\"]?{re.escape(upstream)}\b") or 1
                errors.append(UnknownDomainError(
                    upstream, sorted(known), hint="remove it, add that project to the mesh, or list it under "
                    "external_domains: in mesh.yml when it is built in another repository", file=deps, line=line,
                ))
            elif upstream != d.name:
                graph.link(upstream, d.name, "declared")
        for upstream in d.loom:
            if upstream in known and upstream != d.name:
                graph.link(upstream, d.name, "dbt_loom")
        for ref in scan_refs(d, cache):
            found, error = _resolve(ref, d, known, names, kinds, interfaces)
            if error is not None:
                errors.append(error)
            for c in found:
                cross.append(c)
                for producer in (c.producer, *c.pending):
                    graph.link(producer, d.name, "ref", ref.name + (f".v{ref.version}" if ref.version else ""), ref.file.stem)
    return Links(graph, cross, names, errors, kinds)
