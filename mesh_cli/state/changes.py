"""Which domains are stale: changed files since their last successful build, or an upstream whose
public interface changed since. Shared by `mesh build --changed` and `mesh status`."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from mesh_cli.state.fingerprint import Fingerprint, interface_hash, load, why_stale
from mesh_cli.state.interface import state_dir

if TYPE_CHECKING:
    from mesh_cli.app import BuildOptions, Mesh


def current_fingerprint(mesh: "Mesh", domain: str, options: "BuildOptions") -> Fingerprint:
    """The domain as it is now (files) and as built (its interface, its upstreams' interfaces)."""
    files = mesh.files_hash(domain, options)
    ups = {u: interface_hash(mesh.interface(u)) for u in mesh.graph.upstreams(domain)}
    return Fingerprint(files, interface_hash(mesh.interface(domain)), ups)


def staleness(mesh: "Mesh", options: "BuildOptions", domains: Optional[list[str]] = None) -> dict[str, Optional[str]]:
    """For each domain (all, in build order), why it needs a build, or None when it is up to date."""
    result: dict[str, Optional[str]] = {}
    for name in domains if domains is not None else mesh.graph.order():
        now = current_fingerprint(mesh, name, options)
        result[name] = why_stale(load(state_dir(mesh.root, name)), now.files, now.upstreams)
    return result
