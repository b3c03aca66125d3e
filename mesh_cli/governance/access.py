"""Access rules across domains: pure functions over published interfaces.

A domain's interface lists its models, seeds and snapshots (`resource_type`), each with an access:
only public ones may be read by other domains, through either form of ref."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional

from mesh_cli.core.errors import AccessViolationError, AmbiguousRefError, MeshError, UnknownModelError

if TYPE_CHECKING:
    from mesh_cli.project.links import CrossRef

PUBLIC = "public"


def _versions(models: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [m for m in models if m["name"] == name]


def node_of(interface: dict[str, Any], name: str, version: Optional[str] = None) -> Optional[dict[str, Any]]:
    """The node a ref lands on: the pinned version, else the latest one (as dbt resolves it)."""
    found = _versions(interface.get("models", []), name)
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


def check_ref(cross: "CrossRef", interface: dict[str, Any],
              others: Optional[Mapping[str, Optional[dict[str, Any]]]] = None) -> Optional[MeshError]:
    """Whether `cross` may read the producer's node, judged by the producer's interface.

    `others`: interfaces of other domains; a one-argument ref is ambiguous when one of the domains
    it was not resolved to (`cross.others`) publishes that name too by now."""
    ref = cross.ref
    if ref.package is None and cross.others:
        landing = _one_arg_landing(cross, {cross.producer: interface, **{d: (others or {}).get(d) for d in cross.others}})
        if landing is not None:
            return landing if isinstance(landing, MeshError) else None
    found = _versions(interface["models"], ref.name)
    if not found:
        return UnknownModelError(ref.domain, cross.producer, ref.name, ref.file, ref.line)
    node = node_of(interface, ref.name, ref.version)
    if node is None:
        return UnknownModelError(ref.domain, cross.producer, ref.name, ref.file, ref.line, ref.version)
    kind = node.get("resource_type") or "model"   # interfaces written before seeds were in them
    if node["access"] != PUBLIC:
        owner = (interface.get("groups", {}).get(node.get("group")) or {}).get("owner") or {}
        contact = owner.get("email") or owner.get("name")
        return AccessViolationError(ref.domain, cross.producer, ref.name, node["access"], node.get("group"),
                                    ref.file, ref.line, contact, kind)
    return None


def _one_arg_landing(cross: "CrossRef", interfaces: Mapping[str, Optional[dict[str, Any]]]) -> Optional[MeshError | str]:
    """A one-argument ref lands on the single public node of its name among the candidate domains:
    that domain, an AmbiguousRefError when several publish it, None when none does (then it is
    judged as a ref to the domain it was linked to)."""
    ref = cross.ref
    nodes = {d: node_of(i, ref.name, ref.version) for d, i in interfaces.items() if i is not None}
    public = sorted(d for d, n in nodes.items() if n is not None and n["access"] == PUBLIC)
    if len(public) > 1:
        kinds = sorted({str(nodes[d].get("resource_type") or "model") for d in public})  # type: ignore[union-attr]
        return AmbiguousRefError(ref.domain, ref.name, public, ref.file, ref.line, ref.version, " or ".join(kinds))
    return public[0] if public else None


def check_refs(crosses: list["CrossRef"], interfaces: dict[str, dict[str, Any]]) -> list[MeshError]:
    """Every violation among `crosses` whose producer has a published interface."""
    errors = []
    for cross in crosses:
        interface = interfaces.get(cross.producer)
        if interface is not None:
            error = check_ref(cross, interface, interfaces)
            if error is not None:
                errors.append(error)
    return errors
