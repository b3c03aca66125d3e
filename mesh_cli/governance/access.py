"""Access rules across domains: pure functions over published interfaces.

A domain's interface lists its models, seeds and snapshots (`resource_type`), each with an access:
only public ones may be read by other domains, through either form of ref."""
from __future__ import annotations

from typing import Any, Mapping, Optional

from mesh_cli.core.errors import AccessViolationError, AmbiguousRefError, MeshError, UnknownModelError

from mesh_cli.project.links import PUBLIC, CrossRef, versions_of, node_of


def check_ref(cross: CrossRef, interface: dict[str, Any],
              others: Optional[Mapping[str, Optional[dict[str, Any]]]] = None) -> Optional[MeshError]:
    """Whether `cross` may read the producer's node, judged by the producer's interface.

    `others`: interfaces of other domains; a one-argument ref is ambiguous when one of the domains
    it was not resolved to (`cross.others`) publishes that name too by now."""
    ref = cross.ref
    if ref.package is None and cross.others:
        landing = _one_arg_landing(cross, {cross.producer: interface, **{d: (others or {}).get(d) for d in cross.others}})
        if landing is not None:
            return landing if isinstance(landing, MeshError) else None
    found = versions_of(interface["models"], ref.name)
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


def _one_arg_landing(cross: CrossRef, interfaces: Mapping[str, Optional[dict[str, Any]]]) -> Optional[MeshError | str]:
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


def check_refs(crosses: list[CrossRef], interfaces: dict[str, dict[str, Any]]) -> list[MeshError]:
    """Every violation among `crosses` whose producer has a published interface."""
    errors = []
    for cross in crosses:
        interface = interfaces.get(cross.producer)
        if interface is not None:
            error = check_ref(cross, interface, interfaces)
            if error is not None:
                errors.append(error)
    return errors
