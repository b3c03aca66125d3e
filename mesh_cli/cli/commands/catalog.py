"""`mesh catalog`, `mesh show` and `mesh lineage`: the data products and how data flows between them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

from mesh_cli.cli import render_catalog as render
from mesh_cli.cli.commands.options import format_option, project_dir_option
from mesh_cli.app import Mesh


def _note(missing: list[str]) -> None:
    if note := render.missing_note(missing):
        click.secho(note, fg="yellow", err=True)


@click.command()
@project_dir_option
@click.argument("query", required=False)
@click.option("--domain", "-d", help="Only the data products of this domain.")
@click.option("--tag", help="Only data products with this dbt tag.")
@format_option("text", "json")
def catalog(project_dir: Path, query: Optional[str], domain: Optional[str], tag: Optional[str], fmt: str) -> None:
    """List the mesh's data products (public models), optionally matching QUERY.

    QUERY matches, ignoring case, a product's name, description, columns, tags and owner.

    \b
    Example:
      mesh catalog order --domain orders --format json
    """
    loaded = Mesh.load(project_dir).catalog()
    found = loaded.search(query, domain, tag)
    if fmt == "json":
        click.echo(render.catalog_json(loaded, found))
        return
    click.echo(render.catalog_text(found, query))
    _note(loaded.missing)


@click.command()
@project_dir_option
@click.argument("product")
@format_option("text", "json")
def show(project_dir: Path, product: str, fmt: str) -> None:
    """Show everything about one data product, DOMAIN.MODEL: versions, columns, consumers, contract.

    \b
    Example:
      mesh show orders.fct_orders
    """
    loaded = Mesh.load(project_dir).catalog()
    found = loaded.get(product)
    click.echo(json.dumps(found.to_dict(), indent=2) if fmt == "json" else render.show_text(found))


@click.command()
@project_dir_option
@click.argument("model")
@click.option("--upstream", "direction", flag_value="up", help="Only what MODEL is built from.")
@click.option("--downstream", "direction", flag_value="down", help="Only what is built from MODEL.")
@click.option("--depth", type=click.IntRange(1), help="At most this many hops from MODEL (default: all).")
@click.option("--column", "-c", help="Lineage of this column of MODEL instead of the whole model.")
@format_option("text", "dot", "mermaid", "json")
def lineage(project_dir: Path, model: str, direction: Optional[str], depth: Optional[int],
            column: Optional[str], fmt: str) -> None:
    """Show the lineage of MODEL (DOMAIN.MODEL or DOMAIN.MODEL.vN) across domains.

    Both directions unless --upstream or --downstream; with --column, which columns feed that
    column and which columns of consumer models read it. A versioned model named without its
    version means all its versions.

    \b
    Example:
      mesh lineage orders.fct_orders.v1 --column amount --downstream
    """
    result = Mesh.load(project_dir).lineage(model, direction or "both", depth, column)
    click.echo(render.lineage_output(result, fmt))
    _note(result.missing)
