"""`mesh init` and `mesh new-domain`: parse, call mesh_cli.project.scaffold, print what was written and what next."""
from __future__ import annotations

import json
import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import click

from mesh_cli.cli.commands.options import format_option, project_dir_option

if TYPE_CHECKING:
    from mesh_cli.project.scaffold import Scaffolded


def _shown(path: Path) -> str:
    """A path as the user would type it from where they are."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    return relative if not relative.startswith("..") else str(path)


def _echo(result: Scaffolded, fmt: str, headline: str, next_steps: list[str]) -> None:
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    click.secho(headline, fg="green")
    for path in result.created:
        click.echo(f"  created {_shown(path)}")
    for path in result.updated:
        click.echo(f"  updated {_shown(path)}")
    for note in result.notes:
        click.secho(f"Note: {note}", fg="yellow", err=True)
    click.echo("Next steps:")
    for step in next_steps:
        click.echo(f"  {step}")


def _dir_flag(root: Path) -> str:
    shown = _shown(root)
    return "" if shown == "." else f" --project-dir {shlex.quote(shown)}"


@click.command()
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@project_dir_option
@format_option("text", "json")
def init(directory: Optional[Path], project_dir: Path, fmt: str) -> None:
    """Create a new, empty mesh in DIRECTORY (default: --project-dir, the current folder).

    Writes mesh.yml, profiles/profiles.yml, the shared macros package macros/ (mesh_macros), an
    empty domains/ folder, a README.md and a .gitignore. Refuses, writing nothing, when any of
    these files already exists.

    \b
    Example:
      mesh init acme && cd acme
      mesh new-domain sales --owner Sales --email sales@acme.example
    """
    from mesh_cli.project.scaffold import init_mesh  # ruamel.yaml: only when scaffolding

    result = init_mesh(directory if directory is not None else project_dir)
    steps = ([f"cd {shlex.quote(_shown(result.root))}"] if _shown(result.root) != "." else [])
    steps.append("mesh new-domain <name> --owner <team> --email <address> [--depends-on <domain>]")
    _echo(result, fmt, f"Created mesh '{result.root.name}' in {_shown(result.root)}", steps)


@click.command(name="new-domain")
@click.argument("name")
@click.option("--owner", "team", required=True, metavar="TEAM", help="The team that owns the domain.")
@click.option("--email", required=True, help="The owning team's email address.")
@click.option("--depends-on", multiple=True, metavar="DOMAIN",
              help="A domain this one reads from (repeat for several); declared in dependencies.yml.")
@project_dir_option
@format_option("text", "json")
def new_domain_command(name: str, team: str, email: str, depends_on: tuple[str, ...], project_dir: Path,
                       fmt: str) -> None:
    """Add domain NAME to the mesh: a dbt project with an example public data product.

    The project follows the mesh's conventions (staging and marts folders, an owning group, an
    enforced contract, a primary key, the shared macros) and passes `mesh check`. Its owner is
    added to mesh.yml. Refuses, writing nothing, when NAME is taken or invalid.

    \b
    Example:
      mesh new-domain marketing --owner Marketing --email marketing@acme.example --depends-on sales
    """
    from mesh_cli.project.scaffold import new_domain

    result = new_domain(project_dir, name, team, email, depends_on)
    flag = _dir_flag(result.root)
    steps = [f"mesh check --select {name}{flag}",
             f"mesh build --select {name}{flag}"]
    _echo(result, fmt, f"Created domain '{name}' in {_shown(result.created[0].parent)}", steps)
