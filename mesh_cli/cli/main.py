"""The command line: parse options, call the core, render, set the exit code. Nothing else."""
from __future__ import annotations

import json
import shlex
import sys
import traceback
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click

from mesh_cli import __version__
from mesh_cli.core.errors import CancelledError, MeshError
from mesh_cli.cli.commands.progress import reporter
from mesh_cli.app import BuildOptions, Mesh, default_workers
from mesh_cli.cli import render
from mesh_cli.governance.sarif import to_sarif
from mesh_cli.cli.commands.options import format_option, log_format_option, project_dir_option, select_options, workers_option

if TYPE_CHECKING:  # the OpenLineage client is imported only when a build asks for lineage
    from mesh_cli.execution.openlineage import LineageEmitter


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
        except KeyboardInterrupt:   # a check in progress says so itself (_checking)
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
@click.option("--target", "-t", help="dbt target to use (default: the profile's).")
@click.option("--profiles-dir", type=click.Path(file_okay=False, path_type=Path), help="Folder of profiles.yml, for every domain.")
@click.option("--threads", type=click.IntRange(1), help="dbt threads inside each domain.")
@workers_option
@click.option("--changed", is_flag=True,
              help="Only domains whose files changed since their last good build, and those downstream of a changed public interface.")
@click.option("--skip-checks", is_flag=True, help="Build without running mesh check first (not recommended).")
@click.option("--openlineage-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Append an OpenLineage run event per line to this file for every model run.")
@click.option("--openlineage-url", metavar="URL", help="Send OpenLineage run events to this server (HTTP transport).")
@format_option("text", "json")
@log_format_option
def build(project_dir: Path, select: tuple[str, ...], exclude: tuple[str, ...], target: str | None,
          profiles_dir: Path | None, threads: int | None, workers: int | None, changed: bool, skip_checks: bool,
          openlineage_file: Path | None, openlineage_url: str | None, fmt: str, log_format: str) -> None:
    """Run `dbt build` in every selected domain, upstreams first.

    A failed domain's downstreams are skipped; independent domains still run. Each domain
    builds into a copy of its database, swapped in only when it succeeds; Ctrl-C stops cleanly.

    \b
    Example:
      mesh build --select +marketing --threads 4
      mesh build --changed
    """
    options = BuildOptions(select, exclude, target, profiles_dir, threads, workers or default_workers(), changed)
    with Mesh.load(project_dir) as mesh:
        emitter = _lineage_emitter(mesh, openlineage_file, openlineage_url)
        _build(mesh, options, skip_checks, fmt, emitter, log_format)


@cli.command()
@project_dir_option
@click.option("--target", "-t", help="dbt target to use (default: the last build's).")
@click.option("--profiles-dir", type=click.Path(file_okay=False, path_type=Path), help="Folder of profiles.yml, for every domain.")
@click.option("--threads", type=click.IntRange(1), help="dbt threads inside each domain.")
@workers_option
@click.option("--skip-checks", is_flag=True, help="Build without running mesh check first (not recommended).")
@format_option("text", "json")
@log_format_option
def retry(project_dir: Path, target: str | None, profiles_dir: Path | None, threads: int | None,
          workers: int | None, skip_checks: bool, fmt: str, log_format: str) -> None:
    """Build again the domains that failed, were skipped or were cancelled in the last build.

    \b
    Example:
      mesh retry
    """
    with Mesh.load(project_dir) as mesh:
        again = mesh.retry_options(BuildOptions(target=target, profiles_dir=profiles_dir, threads=threads,
                                                workers=workers or default_workers()))
        if again is None:
            click.echo("Nothing to retry: every domain of the last build succeeded.")
            return
        _build(mesh, again, skip_checks, fmt, None, log_format)


def _lineage_emitter(mesh: Mesh, file: Path | None, url: str | None) -> LineageEmitter | None:
    if file is None and url is None:
        return None
    from mesh_cli.execution.openlineage import LineageEmitter  # imports the OpenLineage client: only when asked for

    return LineageEmitter(mesh.config.name or mesh.root.name,
                          {name: d.target_dir for name, d in mesh.domains.items()}, file, url)


def _build(mesh: Mesh, options: BuildOptions, skip_checks: bool, fmt: str,
           emitter: LineageEmitter | None = None, log_format: str = "text") -> None:
    shown = reporter(fmt, log_format)
    checked = options
    if options.changed:
        stale = mesh.stale(options)   # reads files only: nothing changed means dbt is never started
        shown.changed(stale)
        if not stale:
            return
        checked = replace(options, select=tuple(stale), exclude=())
    if skip_checks:
        click.secho("Warning: --skip-checks: access, contract and governance checks were NOT run", fg="yellow", err=True)
    else:
        with _checking():
            shown.checked(mesh.gate(checked))
    tasks = mesh.plan(options)
    on_result: Callable[[Any], None] = shown.result
    if emitter is not None:
        emitter.start()
        on_result = _and_lineage(shown.result, emitter)
    shown.plan([t.domain for t in tasks], options.workers)
    try:
        result = mesh.run(tasks, options, on_result=on_result, on_start=shown.start)
    finally:
        shown.close()
    if emitter is not None:
        emitter.finish(result.success)
    for problem in [*(emitter.problems if emitter is not None else []), *result.warnings]:
        click.secho(f"Warning: {problem}", fg="yellow", err=True)
    shown.summary(result)
    # dbt's codes: 1 when something failed, 2 when the run was interrupted
    sys.exit(0 if result.success else 2 if result.cancelled else 1)


@contextmanager
def _checking() -> Iterator[None]:
    """Ctrl-C while mesh check runs (dbt parsing the domains) stopped the check, not a build."""
    try:
        yield
    except KeyboardInterrupt:
        raise CancelledError("during the check") from None


def _and_lineage(on_result: Callable[[Any], None], emitter: LineageEmitter) -> Callable[[Any], None]:
    def both(result: Any) -> None:
        on_result(result)
        emitter.domain_done(result)
    return both




@cli.command()
@project_dir_option
@select_options
@click.option("--target", "-t", help="dbt target to use (default: the profile's).")
@click.option("--profiles-dir", type=click.Path(file_okay=False, path_type=Path), help="Folder of profiles.yml, for every domain.")
@click.option("--list-rules", is_flag=True, help="Describe every rule and exit.")
@format_option("text", "json", "sarif")
def check(project_dir: Path, select: tuple[str, ...], exclude: tuple[str, ...], target: str | None,
          profiles_dir: Path | None, list_rules: bool, fmt: str) -> None:
    """Check access, contracts and governance policies across the mesh; build nothing.

    Exit 0 when there is no error (warnings allowed), 1 when there is any.

    \b
    Example:
      mesh check --format sarif > mesh.sarif
    """
    if list_rules:
        click.echo(render.rules_text())
        return
    with _checking(), Mesh.load(project_dir) as mesh:
        report = mesh.check(BuildOptions(select, exclude, target, profiles_dir))
    if fmt == "sarif":
        click.echo(json.dumps(to_sarif(report, mesh.root, __version__), indent=2))
    else:
        click.echo(render.check_json(report, mesh.root) if fmt == "json" else render.check_text(report, mesh.root))
    sys.exit(0 if report.ok else 1)


@cli.command(name="ls")
@project_dir_option
@select_options
@format_option("text", "json")
def ls_command(project_dir: Path, select: tuple[str, ...], exclude: tuple[str, ...], fmt: str) -> None:
    """List domains: owner, upstreams, downstreams and public models.

    With a model word (DOMAIN.MODEL), also what `mesh build` would build in each domain.

    \b
    Example:
      mesh ls --select orders.fct_orders+ --format json
    """
    infos = Mesh.load(project_dir).describe(select, exclude)
    click.echo(json.dumps([i.to_dict() for i in infos], indent=2) if fmt == "json" else render.ls_text(infos))


@cli.command()
@project_dir_option
@format_option("text", "dot", "mermaid", "json")
def graph(project_dir: Path, fmt: str) -> None:
    """Show the domain graph; each edge names the models that cross it.

    \b
    Example:
      mesh graph --format mermaid
    """
    click.echo(render.graph_text(Mesh.load(project_dir).graph, fmt))


@cli.command()
@project_dir_option
@click.argument("domain")
@click.option("--target", "-t", help="dbt target to use (default: the profile's).")
@format_option("shell", "json")
def env(project_dir: Path, domain: str, target: str | None, fmt: str) -> None:
    """Print the environment to run plain dbt inside DOMAIN as mesh does.

    \b
    Example:
      cd domains/marketing && eval "$(mesh env marketing --project-dir ../..)" \\
        && dbt build --profiles-dir ../../profiles
    """
    values = Mesh.load(project_dir).env(domain, BuildOptions(target=target))
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


def main() -> None:
    cli(prog_name="mesh")
