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
from mesh_cli.state.interface import load_interface, published_domains


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
            interface = load_interface(self.root, domain) or {"models": []}
            # As in dbt Mesh, only public nodes cross a project boundary; a public seed or snapshot
            # is injected as a model with its relation, so ref() reads its table.
            for model in (m for m in interface["models"] if m["access"] == "public"):
                deprecation = model.get("deprecation_date")
                nodes.add_model(ModelNodeArgs(
                    name=model["name"],
                    package_name=domain,
                    identifier=model["identifier"],
                    schema=model["schema"],
                    database=model["database"],
                    relation_name=model["relation_name"],
                    version=model["version"],
                    latest_version=model["latest_version"],
                    deprecation_date=datetime.fromisoformat(deprecation) if deprecation else None,
                    access="public",
                ))
        return nodes


plugins = [MeshPlugin]
