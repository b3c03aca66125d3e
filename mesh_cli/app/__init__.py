"""The application: the `Mesh` façade the CLI and tests call, and the build planner behind it."""
from mesh_cli.app.facade import Mesh
from mesh_cli.app.listing import DomainInfo
from mesh_cli.core.options import BuildOptions, default_workers

__all__ = ["BuildOptions", "DomainInfo", "Mesh", "default_workers"]
