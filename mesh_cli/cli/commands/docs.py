"""`mesh docs generate` and `mesh docs serve`: the static documentation site of the mesh."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

from mesh_cli.cli.commands.options import format_option, project_dir_option
from mesh_cli.app import Mesh

_out_option = click.option(
    "--out", type=click.Path(path_type=Path), default=None,
    help="Folder to write the site into (default: .mesh/docs under the mesh root).")


@click.group()
def docs() -> None:
    """Generate and serve the mesh's documentation site.

    \b
    Example:
      mesh docs generate && mesh docs serve
    """


@docs.command()
@project_dir_option
@_out_option
@format_option("text", "json")
def generate(project_dir: Path, out: Optional[Path], fmt: str) -> None:
    """Write a static site of domains, data products and lineage that opens offline.

    \b
    Example:
      mesh docs generate --out site/ && open site/index.html
    """
    result = Mesh.load(project_dir).docs(out)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
        return
    click.echo(f"Wrote {_count(result.pages, 'page')} ({_count(result.domains, 'domain')}, "
               f"{_count(result.products, 'data product')}, {_count(result.models, 'model')} in the lineage) "
               f"to {result.out}")
    click.echo(f"Open {result.index.as_uri()}")


@docs.command()
@project_dir_option
@_out_option
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@click.option("--no-generate", is_flag=True, help="Serve the site already in --out without regenerating it.")
def serve(project_dir: Path, out: Optional[Path], port: int, no_generate: bool) -> None:
    """Generate the site, then serve it on 127.0.0.1 until Ctrl-C.

    \b
    Example:
      mesh docs serve --port 8000
    """
    from mesh_cli.catalog import site

    mesh = Mesh.load(project_dir)
    folder = (out or mesh.context.layout.docs).resolve()
    if not no_generate:
        result = mesh.docs(folder)
        click.echo(f"Wrote {_count(result.pages, 'page')} to {result.out}")
    server = site.serve(folder, port)
    host, bound = server.server_address[:2]
    click.echo(f"Serving {folder} at http://{host}:{bound}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        server.server_close()


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"
