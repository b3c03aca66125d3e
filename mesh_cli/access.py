"""Access rules across domains: pure functions over published interfaces."""
from __future__ import annotations

from typing import Any, Optional

from mesh_cli.errors import AccessViolationError, MeshError, UnknownModelError
from mesh_cli.links import CrossRef


def _versions(models: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [m for m in models if m["name"] == name]


def check_ref(cross: CrossRef, interface: dict[str, Any]) -> Optional[MeshError]:
    """Whether `cross` may read the producer's model, judged by the producer's interface."""
    ref = cross.ref
    found = _versions(interface["models"], ref.name)
    if not found:
        return UnknownModelError(ref.domain, cross.producer, ref.name, ref.file, ref.line)
    if ref.version is not None:
        found = [m for m in found if str(m["version"]) == str(ref.version)]
        if not found:
            return UnknownModelError(ref.domain, cross.producer, ref.name, ref.file, ref.line, ref.version)
    model = found[0]
    if model["access"] != "public":
        owner = (interface.get("groups", {}).get(model.get("group")) or {}).get("owner") or {}
        contact = owner.get("email") or owner.get("name")
        return AccessViolationError(ref.domain, cross.producer, ref.name, model["access"], model.get("group"),
                                    ref.file, ref.line, contact)
    return None


def check_refs(crosses: list[CrossRef], interfaces: dict[str, dict[str, Any]]) -> list[MeshError]:
    """Every violation among `crosses` whose producer has a published interface."""
    errors = []
    for cross in crosses:
        interface = interfaces.get(cross.producer)
        if interface is not None:
            error = check_ref(cross, interface)
            if error is not None:
                errors.append(error)
    return errors
