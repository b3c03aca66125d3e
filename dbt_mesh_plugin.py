"""dbt discovers this module (its name starts with `dbt_`) and asks it for other domains' models.

Inert outside a mesh: with no published state above the project, it injects nothing."""
from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from dbt.contracts.graph.node_args import ModelNodeArgs
from dbt.plugins.manager import dbt_hook, dbtPlugin
from dbt.plugins.manifest import PluginNodes

from mesh_cli.core.layout import UPSTREAMS_ENV, find_mesh_root
from mesh_cli.state.interface import load_interface, public_models, published_domains


def _project_dir() -> Path:
    try:
        from dbt.flags import get_flags

        return Path(getattr(get_flags(), "PROJECT_DIR", None) or os.getcwd()).resolve()
    except Exception:  # flags not set up (called outside a dbt command)
        return Path.cwd().resolve()


class MeshPlugin(dbtPlugin):
    def initialize(self) -> None:
        self.root = find_mesh_root(_project_dir())

    @dbt_hook
    def get_nodes(self) -> PluginNodes:
        nodes = PluginNodes()
        if self.root is None:
            return nodes
        listed = os.environ.get(UPSTREAMS_ENV)
        upstreams = listed.split(",") if listed is not None else published_domains(self.root)
        for domain in (d for d in upstreams if d and d != self.project_name):
            for model in public_models(load_interface(self.root, domain)):
                deprecation = model["deprecation_date"]
                nodes.add_model(ModelNodeArgs(
                    **{**model, "deprecation_date": datetime.fromisoformat(deprecation) if deprecation else None},
                    package_name=domain, access="public"))
        return nodes


plugins = [MeshPlugin]
