"""`mesh contracts publish | diff | deprecations`."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import click

from mesh_cli.cli import render_contracts as contract_render
from mesh_cli.cli.commands.options import (dbt_options, format_option, load_mesh, offline_option, project_dir_option,
                                           select_options)
from mesh_cli.app import BuildOptions, Mesh


@click.group()
def contracts() -> None:
    """Data contracts: publish them as ODCS files, diff them before merge, follow deprecations.

    \b
    Example:
      mesh contracts diff --base origin/main --format markdown
    """


@contracts.command()
@project_dir_option
@select_options
@dbt_options
@click.option("--check", is_flag=True, help="Write nothing; exit 1 when contracts/ is stale.")
@format_option("text", "json")
def publish(project_dir: Path, select: tuple[str, ...], exclude: tuple[str, ...], target: Optional[str],
            profiles_dir: Optional[Path], check: bool, fmt: str) -> None:
    """Write one ODCS contract per public model version to contracts/<domain>/.

    Contracts of models that are no longer public are removed. Every file is validated against
    the Open Data Contract Standard first.

    \b
    Example:
      mesh contracts publish --select orders
      mesh contracts publish --check      # in CI: fail when contracts/ is stale
    """
    with Mesh.load(project_dir) as mesh:
        result = mesh.publish_contracts(BuildOptions(select, exclude, target, profiles_dir), check)
    click.echo(json.dumps(result.to_dict(mesh.root), indent=2) if fmt == "json"
               else contract_render.publish_text(result, mesh.root, check))
    sys.exit(1 if check and result.changed else 0)


@contracts.command()
@project_dir_option
@select_options
@dbt_options
@click.option("--base", metavar="GIT_REF", help="Compare with the contracts committed at this git revision.")
@click.option("--against", type=click.Path(file_okay=False, exists=True, path_type=Path), metavar="DIR",
              help="Compare with the contracts in DIR (laid out as contracts/).")
@offline_option
@format_option("text", "json", "markdown")
def diff(project_dir: Path, select: tuple[str, ...], exclude: tuple[str, ...], target: Optional[str],
         profiles_dir: Optional[Path], base: Optional[str], against: Optional[Path], offline: bool, fmt: str) -> None:
    """Compare current definitions with the published contracts; show who each change breaks.

    Exit 1 when a published version changes in a breaking way, 0 otherwise.

    \b
    Example:
      mesh contracts diff --base origin/main --format markdown > comment.md
    """
    if base and against:
        raise click.UsageError("--base and --against are alternatives: give one")
    with load_mesh(project_dir, offline) as mesh:
        report = mesh.diff_contracts(BuildOptions(select, exclude, target, profiles_dir), base, against)
    if fmt == "json":
        click.echo(json.dumps(report.to_dict(), indent=2))
    else:
        click.echo(contract_render.diff_markdown(report) if fmt == "markdown" else contract_render.diff_text(report))
    sys.exit(0 if report.ok else 1)


@contracts.command()
@project_dir_option
@click.option("--within", type=click.IntRange(0), metavar="DAYS",
              help="Only versions whose deprecation date is at most DAYS away (or past).")
@offline_option
@format_option("text", "json")
def deprecations(project_dir: Path, within: Optional[int], offline: bool, fmt: str) -> None:
    """List consumers still on a deprecated version, with the date and the owner to notify.

    Exit 1 when a consumer is still on a version whose deprecation date has passed.

    \b
    Example:
      mesh contracts deprecations --within 90
    """
    mesh = load_mesh(project_dir, offline)
    uses, unknown = mesh.deprecations(within)
    if fmt == "json":
        click.echo(json.dumps({"version": 1, "uses": [u.to_dict(mesh.root) for u in uses], "unknown": unknown}, indent=2))
    else:
        click.echo(contract_render.deprecations_text(uses, unknown, mesh.root))
    sys.exit(1 if any(u.use.passed for u in uses) else 0)
