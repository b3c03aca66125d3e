"""`mesh publish`: write domains' published state where other repositories read it."""
from __future__ import annotations

import json
from pathlib import Path

import click

from mesh_cli.cli.commands.options import format_option, load_mesh, offline_option, project_dir_option, select_options


@click.command()
@project_dir_option
@select_options
@click.option("--to", "to", required=True, metavar="LOCATION",
              help="A folder, file:// URL or object store URL (s3://, gs://, az://: optional extras).")
@offline_option
@format_option("text", "json")
def publish(project_dir: Path, select: tuple[str, ...], exclude: tuple[str, ...], to: str, offline: bool, fmt: str) -> None:
    """Publish each selected domain's state after its last good build, for meshes in other repositories.

    Its public models, versions, contracts and relations, where they are stored, and what it reads
    from other domains. Kept under its build id; `latest.json` points at the newest.

    \b
    Example:
      mesh publish --to /shared/mesh-state
      mesh publish --select orders --to s3://acme-mesh/state
    """
    mesh = load_mesh(project_dir, offline)
    done = mesh.publish(to, select, exclude)
    if fmt == "json":
        click.echo(json.dumps({"version": 1, "published": [p.to_dict() for p in done]}, indent=2))
        return
    for p in done:
        click.echo(f"Published {p.domain} build {p.build_id} to {p.location}")
