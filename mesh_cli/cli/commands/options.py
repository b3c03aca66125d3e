"""Options shared by several commands, each declared once so it reads the same everywhere
(dbt-core's style: one decorator per option, stacked on each command)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, TypeVar

import click

from mesh_cli.core.layout import OFFLINE_ENV

F = TypeVar("F", bound=Callable[..., Any])


def project_dir_option(f: F) -> F:
    return click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=".",
                        show_default=True, help="The mesh's folder (holding mesh.yml or dbt projects).")(f)


def select_options(f: F) -> F:
    f = click.option("--exclude", multiple=True, metavar="WORDS", help="Domains or models to leave out (same words as --select).")(f)
    return click.option("--select", "-s", multiple=True, metavar="WORDS",
                        help="dbt's selection words: a domain or DOMAIN.MODEL[.vN], with +, N+, +N or @ "
                             "(e.g. +marketing, orders.fct_orders+).")(f)


def format_option(*choices: str) -> Callable[[F], F]:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True,
                        help="Output format.")


def _target(default: str) -> Callable[[F], F]:
    return click.option("--target", "-t", help=f"dbt target to use (default: {default}).")


target_option = _target("the profile's")
# `mesh retry` reruns the last build, so without --target it keeps that build's target.
last_target_option = _target("the last build's")


def profiles_dir_option(f: F) -> F:
    return click.option("--profiles-dir", type=click.Path(file_okay=False, path_type=Path),
                        help="Folder of profiles.yml, for every domain.")(f)


def dbt_options(f: F) -> F:
    """--target and --profiles-dir: what every command that starts dbt passes on to it."""
    return target_option(profiles_dir_option(f))


def threads_option(f: F) -> F:
    return click.option("--threads", type=click.IntRange(1), help="dbt threads inside each domain.")(f)


def workers_option(f: F) -> F:
    return click.option("--workers", type=click.IntRange(1), default=None,
                        help="Domains built at the same time (default: $MESH_WORKERS, else the number of CPU cores).")(f)


def skip_checks_option(f: F) -> F:
    return click.option("--skip-checks", is_flag=True,
                        help="Build without running mesh check first (not recommended).")(f)


def log_format_option(f: F) -> F:
    return click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                        help="Progress events: a live view on a terminal or a line each (text), or JSON lines.")(f)


def offline_option(f: F) -> F:
    return click.option("--offline", is_flag=True, envvar=OFFLINE_ENV,
                        help="When an external domain's location cannot be reached, use the state resolved "
                             "last time (and say so) instead of stopping. Also $MESH_OFFLINE=1.")(f)


def load_mesh(project_dir: Path, offline: bool = False) -> Any:
    """The mesh, its external domains resolved; says on stderr when one is read offline."""
    from mesh_cli.app import Mesh

    mesh = Mesh.load(project_dir, offline)
    for note in mesh.notes:
        click.secho(f"Warning: {note}", fg="yellow", err=True)
    return mesh
