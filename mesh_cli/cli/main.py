"""The command line: parse options, call the core, render, set the exit code. Nothing else."""
from __future__ import annotations

import json
import shlex
import sys
import traceback
from pathlib import Path
from typing import Any, Optional

import click

from mesh_cli import __version__
from mesh_cli.core.errors import CancelledError, MeshError
from mesh_cli.cli.commands.progress import reporter
from mesh_cli.app import BuildOptions, Mesh, default_workers
from mesh_cli.cli import render
from mesh_cli.governance.sarif import to_sarif
from mesh_cli.cli.commands.options import (dbt_options, format_option, last_target_option, log_format_option,
                                           profiles_dir_option, project_dir_option, select_options,
                                           skip_checks_option, target_option, threads_option, workers_option,
                                           load_mesh, offline_option)

class MeshGroup(click.Group):
    """Turns every MeshError into `Error: ...` on stderr, in this one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MeshError as exc:
            if ctx.params.get("debug"):
                traceback.print_exc()
            for line in exc.lines():
                click.secho(f"Error: {line}", fg="red", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:   # a check in progress says so itself (Mesh.check)
            click.secho(f"Error: {CancelledError('before the build started').message}", fg="red", err=True)
            ctx.exit(2)
        except Exception as exc:  # noqa: BLE001 - the last line of defence, exit 2 as dbt does
            if ctx.params.get("debug"):
                traceback.print_exc()
            click.secho(f"Error: internal error: {exc.__class__.__name__}: {exc}; rerun with "
                        f"`mesh --debug ...` for the traceback", fg="red", err=True)
            ctx.exit(2)


@click.group(cls=MeshGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
@click.version_option(__version__, prog_name="mesh")
def cli(debug: bool) -> None:
    """mesh: run many dbt projects as one data mesh.

    \b
    Example:
      mesh build            # build every domain in dependency order
    """


@cli.command()
@project_dir_option
@select_options
@dbt_options
@threads_option
@workers_option
@click.option("--changed", is_flag=True,
              help="Only domains whose files changed since their last good build, and those downstream of a changed public interface.")
@skip_checks_option
@click.option("--openlineage-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Append an OpenLineage run event per line to this file for every model run.")
@click.option("--openlineage-url", metavar="URL", help="Send OpenLineage run events to this server (HTTP transport).")
@click.option("--dry-run", is_flag=True, help="Print the plan (dbt's invocations, storage, environment, "
              "what happens on success and failure) and run nothing.")
@offline_option
@format_option("text", "json")
@log_format_option
def build(project_dir: Path, select: tuple[str, ...], exclude: tuple[str, ...], target: str | None,
          profiles_dir: Path | None, threads: int | None, workers: int | None, changed: bool, skip_checks: bool,
          openlineage_file: Path | None, openlineage_url: str | None, dry_run: bool, offline: bool, fmt: str,
          log_format: str) -> None:
    """Run `dbt build` in every selected domain, upstreams first.

    A failed domain's downstreams are skipped; independent domains still run. Each domain
    builds its database in place, its changes written only when it succeeds; Ctrl-C stops cleanly.

    \b
    Example:
      mesh build --select +marketing --threads 4
      mesh build --changed
      mesh build --select orders+ --dry-run
    """
    options = BuildOptions(select, exclude, target, profiles_dir, threads, workers or default_workers(), changed)
    with load_mesh(project_dir, offline) as mesh:
        if dry_run:
            plans = mesh.dry_run(options)
            from mesh_cli.cli.render_plan import plan_json, plan_text  # the plan's schema: only for --dry-run

            click.echo(plan_json(plans, options.workers) if fmt == "json" else plan_text(plans, options.workers, mesh.root))
            return
        _build(mesh, options, skip_checks, fmt, openlineage_file, log_format, openlineage_url)


@cli.command()
@project_dir_option
@last_target_option
@profiles_dir_option
@threads_option
@workers_option
@skip_checks_option
@offline_option
@format_option("text", "json")
@log_format_option
def retry(project_dir: Path, target: str | None, profiles_dir: Path | None, threads: int | None,
          workers: int | None, skip_checks: bool, offline: bool, fmt: str, log_format: str) -> None:
    """Build again the domains that failed, were skipped or were cancelled in the last build.

    \b
    Example:
      mesh retry
    """
    with load_mesh(project_dir, offline) as mesh:
        again = mesh.retry_options(BuildOptions(target=target, profiles_dir=profiles_dir, threads=threads,
                                                workers=workers or default_workers()))
        if again is None:
            click.echo("Nothing to retry: every domain of the last build succeeded.")
            return
        _build(mesh, again, skip_checks, fmt, None, log_format)


def _build(mesh: Mesh, options: BuildOptions, skip_checks: bool, fmt: str,
           lineage: Optional[str | Path] = None, log_format: str = "text", url: Optional[str] = None) -> None:
    if skip_checks:
        click.secho("Warning: --skip-checks: access, contract and governance checks were NOT run", fg="yellow", err=True)
    shown = reporter(fmt, log_format)
    result = mesh.run_build(options, skip_checks, shown, mesh.lineage_emitter(lineage, url))
    if result is None:   # --changed, and nothing changed
        if not skip_checks and shown.noop_text() is not None:   # said the same way every time
            mesh.remember_noop(shown.noop_text())
        return
    for problem in result.warnings:
        click.secho(f"Warning: {problem}", fg="yellow", err=True)
    shown.summary(result)
    # dbt's codes: 1 when something failed, 2 when the run was interrupted
    sys.exit(0 if result.success else 2 if result.cancelled else 1)




@cli.command()
@project_dir_option
@select_options
@dbt_options
@click.option("--list-rules", is_flag=True, help="Describe every rule and exit.")
@offline_option
@format_option("text", "json", "sarif")
def check(project_dir: Path, select: tuple[str, ...], exclude: tuple[str, ...], target: str | None,
          profiles_dir: Path | None, list_rules: bool, offline: bool, fmt: str) -> None:
    """Check access, contracts and governance policies across the mesh; build nothing.

    Exit 0 when there is no error (warnings allowed), 1 when there is any.

    \b
    Example:
      mesh check --format sarif > mesh.sarif
    """
    if list_rules:
        click.echo(render.rules_text())
        return
    with load_mesh(project_dir, offline) as mesh:
        report = mesh.check(BuildOptions(select, exclude, target, profiles_dir))
    if fmt == "sarif":
        click.echo(json.dumps(to_sarif(report, mesh.root, __version__), indent=2))
    else:
        click.echo(render.check_json(report, mesh.root) if fmt == "json" else render.check_text(report, mesh.root))
    sys.exit(0 if report.ok else 1)


@cli.command(name="ls")
@project_dir_option
@select_options
@offline_option
@format_option("text", "json")
def ls_command(project_dir: Path, select: tuple[str, ...], exclude: tuple[str, ...], offline: bool, fmt: str) -> None:
    """List domains: owner, upstreams, downstreams and public models.

    With a model word (DOMAIN.MODEL), also what `mesh build` would build in each domain.

    \b
    Example:
      mesh ls --select orders.fct_orders+ --format json
    """
    infos = load_mesh(project_dir, offline).describe(select, exclude)
    click.echo(json.dumps([i.to_dict() for i in infos], indent=2) if fmt == "json" else render.ls_text(infos))


@cli.command()
@project_dir_option
@offline_option
@format_option("text", "dot", "mermaid", "json")
def graph(project_dir: Path, offline: bool, fmt: str) -> None:
    """Show the domain graph; each edge names the models that cross it.

    \b
    Example:
      mesh graph --format mermaid
    """
    click.echo(render.graph_text(load_mesh(project_dir, offline).graph, fmt))


@cli.command()
@project_dir_option
@click.argument("domain")
@target_option
@offline_option
@format_option("shell", "json")
def env(project_dir: Path, domain: str, target: str | None, offline: bool, fmt: str) -> None:
    """Print the environment to run plain dbt inside DOMAIN as mesh does.

    \b
    Example:
      cd domains/marketing && eval "$(mesh env marketing --project-dir ../..)" \\
        && dbt build --profiles-dir ../../profiles
    """
    values = load_mesh(project_dir, offline).env(domain, BuildOptions(target=target))
    if fmt == "json":
        click.echo(json.dumps(values, indent=2, sort_keys=True))
    else:
        click.echo("\n".join(f"export {k}={shlex.quote(v)}" for k, v in sorted(values.items())))


# Commands that live in mesh_cli/commands/, one line each.
from mesh_cli.cli.commands.contracts import contracts  # noqa: E402
cli.add_command(contracts)
from mesh_cli.cli.commands.scaffold import init, new_domain_command  # noqa: E402
cli.add_command(init)
cli.add_command(new_domain_command)
from mesh_cli.cli.commands.docs import docs  # noqa: E402
cli.add_command(docs)
from mesh_cli.cli.commands.catalog import catalog, lineage, show  # noqa: E402
cli.add_command(catalog)
cli.add_command(show)
cli.add_command(lineage)
from mesh_cli.cli.commands.runs import runs, status  # noqa: E402
cli.add_command(runs)
cli.add_command(status)
from mesh_cli.cli.commands.warehouse import warehouse  # noqa: E402
cli.add_command(warehouse)
from mesh_cli.cli.commands.publish import publish  # noqa: E402
cli.add_command(publish)


def main() -> None:
    cli(prog_name="mesh")
