"""What every feature may know of a mesh, handed to it by the façade: its folder, its validated
config, its domains and the layout of what mesh writes. Frozen: a feature reads it, never
changes it, and never reaches back into the façade for more."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Optional

from mesh_cli.core.config import MeshConfig
from mesh_cli.core.layout import Layout
from mesh_cli.project.discovery import Domain


@dataclass(frozen=True)
class MeshContext:
    root: Path
    config: MeshConfig
    domains: Mapping[str, Domain]
    layout: Layout
    # Domains of other repositories, as resolved (name -> state.remote.ExternalState): read only.
    external: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, root: Path, config: MeshConfig, domains: list[Domain],
           external: Optional[Mapping[str, Any]] = None) -> "MeshContext":
        return cls(root, config, MappingProxyType({d.name: d for d in domains}), Layout(root),
                   MappingProxyType(dict(external or {})))

    def relative(self, path: Path) -> Path:
        """`path` relative to the mesh root when it is inside the mesh, as reports show files."""
        return path.relative_to(self.root) if path.is_relative_to(self.root) else path
