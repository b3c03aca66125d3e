"""`mesh warehouse provision | grants`: a shared PostgreSQL with a role and schemas per domain."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import click

from mesh_cli.cli.commands.options import format_option, profiles_dir_option, project_dir_option, target_option
from mesh_cli.app import BuildOptions, Mesh
from mesh_cli.app.warehouse import GrantsReport, ProvisionResult

ADAPTERS = ("postgres", "snowflake", "bigquery", "databricks")


@click.group()
def warehouse() -> None:
    """A shared warehouse: a role and schemas per domain, grants compiled from access.

    mesh connects with libpq's variables (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD).

    \b
    Example:
      mesh warehouse provision --target postgres
      mesh warehouse grants --target postgres
    """


@warehouse.command()
@project_dir_option
@target_option
@profiles_dir_option
@click.option("--dry-run", is_flag=True, help="Print the SQL it would run; run nothing.")
@click.option("--adapter", type=click.Choice(ADAPTERS), help="With --dry-run: print the whole script for this "
              "warehouse, roles, schemas and grants, without connecting.")
@format_option("text", "json")
def provision(project_dir: Path, target: Optional[str], profiles_dir: Optional[Path], dry_run: bool,
              adapter: Optional[str], fmt: str) -> None:
    """Create a role per domain (<prefix><domain>, prefix $MESH_PG_ROLE_PREFIX or mesh_) and its
    schemas, owned by it; nothing else. Idempotent: what exists is left alone.

    \b
    Example:
      mesh warehouse provision --target postgres --dry-run
      mesh warehouse provision --dry-run --adapter snowflake
    """
    if adapter is not None and not dry_run:
        raise click.UsageError("--adapter prints a script and runs nothing: give --dry-run with it")
    result = Mesh.load(project_dir).provision(BuildOptions(target=target, profiles_dir=profiles_dir), dry_run, adapter)
    click.echo(json.dumps(result.to_dict(), indent=2) if fmt == "json" else _provision_text(result, dry_run))


def _provision_text(result: ProvisionResult, dry_run: bool) -> str:
    if result.server is None:
        return "\n".join(result.statements)
    if not result.statements:
        return f"Nothing to do: every domain's role and schemas are in place on {result.server}."
    head = (f"-- would run on {result.server} (dry run: nothing was run)" if dry_run
            else f"Provisioned {result.server}: {len(result.statements)} statements")
    return "\n".join([head, *result.statements])


@warehouse.command()
@project_dir_option
@target_option
@profiles_dir_option
@click.option("--apply", is_flag=True, help="First grant what is missing and revoke what the access rules "
              "do not allow, then show.")
@format_option("text", "json")
def grants(project_dir: Path, target: Optional[str], profiles_dir: Optional[Path], apply: bool, fmt: str) -> None:
    """Show who can read what, from the database's catalog, next to what the mesh's access rules say.

    Exit 1 when they differ.

    \b
    Example:
      mesh warehouse grants --target postgres --format json
    """
    report = Mesh.load(project_dir).grants(BuildOptions(target=target, profiles_dir=profiles_dir), apply)
    click.echo(json.dumps(report.to_dict(), indent=2) if fmt == "json" else _grants_text(report))
    sys.exit(0 if report.in_step else 1)


def _grants_text(report: GrantsReport) -> str:
    lines = [f"Applied {len(report.applied)} statements:", *(f"  {s}" for s in report.applied)] if report.applied else []
    width = max([len(r.grant.target) for r in report.rows] + [6])
    who = max([len(r.grant.grantee) for r in report.rows] + [7])
    lines.append(f"{'STATE':8} {'OBJECT':{width}}  {'GRANTEE':{who}}  {'PRIVILEGE':9}  WHY")
    for r in report.rows:
        lines.append(f"{r.state:8} {r.grant.target:{width}}  {r.grant.grantee:{who}}  {r.grant.privilege:9}  {r.why}")
    lines += [f"absent   {name}: public in its interface, not in the database (build it)" for name in report.absent]
    missing = sum(r.state == "missing" for r in report.differ)
    extra = len(report.differ) - missing
    lines.append(f"Grants on {report.server}: " + ("in step with the access rules" if report.in_step else
                 f"{missing} missing, {extra} not allowed by the access rules; "
                 "`mesh warehouse grants --apply` fixes them"))
    return "\n".join(lines)
