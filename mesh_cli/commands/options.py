"""Options shared by several commands, so each reads the same everywhere."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import click


def project_dir_option(f: Callable) -> Callable:
    return click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), default=".",
                        show_default=True, help="The mesh's folder (holding mesh.yml or dbt projects).")(f)


def select_options(f: Callable) -> Callable:
    f = click.option("--exclude", multiple=True, metavar="DOMAIN", help="Domains to leave out (same words as --select).")(f)
    return click.option("--select", "-s", multiple=True, metavar="DOMAIN",
                        help="Domains to include: name, +name (with upstreams), name+ (with downstreams).")(f)


def format_option(*choices: str) -> Callable:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0], show_default=True,
                        help="Output format.")
