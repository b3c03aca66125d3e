"""Options shared by several commands, so each reads the same everywhere."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import click


def project_dir_option(f: Callable) -> Callable:
    return click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=".",
                        show_default=True, help="The mesh's folder (holding mesh.yml or dbt projects).")(f)


def select_options(f: Callable) -> Callable:
    f = click.option("--exclude", multiple=True, metavar="WORDS", help="Domains or models to leave out (same words as --select).")(f)
    return click.option("--select", "-s", multiple=True, metavar="WORDS",
                        help="dbt's selection words: a domain or DOMAIN.MODEL[.vN], with +, N+, +N or @ "
                             "(e.g. +marketing, orders.fct_orders+).")(f)


def format_option(*choices: str) -> Callable:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True,
                        help="Output format.")


def workers_option(f: Callable) -> Callable:
    return click.option("--workers", type=click.IntRange(1), default=None,
                        help="Domains built at the same time (default: $MESH_WORKERS, else the number of CPU cores).")(f)


def log_format_option(f: Callable) -> Callable:
    return click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True,
                        help="Progress events: a live view on a terminal or a line each (text), or JSON lines.")(f)
