"""The dbt manifests the catalog and lineage read: each domain's of its last good build
(`.mesh/state/<domain>/manifest.json`), else of its last check (`.mesh/check/`), and each external
domain's published one, through the manifest view (as JSON: no dbt import here)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mesh_cli.state.manifest import Manifest

if TYPE_CHECKING:
    from mesh_cli.project.context import MeshContext


@dataclass
class DomainManifest:
    """The dbt manifest a domain's data products are read from, and which state it came from."""

    domain: str
    manifest: Manifest
    source: str            # "build" (.mesh/state) or "check" (.mesh/check, parsed but never built)
    path: Path


MISSING_HINT = "run `mesh build` or `mesh check` first"


def load_manifests(ctx: "MeshContext", newest: bool = False) -> tuple[dict[str, DomainManifest], list[str]]:
    """Each domain's manifest of its last good build, else of its last check; and the domains with neither.
    With `newest`, whichever of the two was written last (selection wants the current code's models)."""
    found: dict[str, DomainManifest] = {}
    missing: list[str] = []
    for name in sorted(ctx.domains):
        places = [("build", ctx.layout.domain_state(name) / "manifest.json"),
                  ("check", ctx.layout.domain_state(name, check=True) / "manifest.json")]
        if newest:
            places.sort(key=lambda p: p[1].stat().st_mtime if p[1].is_file() else 0.0, reverse=True)
        for source, path in places:
            if path.is_file():
                found[name] = DomainManifest(name, Manifest.load(path), source, path)
                break
        else:
            missing.append(name)
    for name in sorted(ctx.external):   # other repositories' domains, from their published manifest
        path = ctx.layout.external / name / "manifest.json"
        if path.is_file():
            found[name] = DomainManifest(name, Manifest.load(path), "external", path)
    return found, missing


def model_key(unique_id: str) -> str:
    """`model.orders.fct_orders.v1` -> `orders.fct_orders.v1`: a node's name across the mesh."""
    return unique_id.split(".", 1)[1]
