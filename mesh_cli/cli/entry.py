"""The `mesh` command's entry point: starts a dbt worker before importing the rest of mesh."""
from __future__ import annotations

import sys


def main() -> None:
    from mesh_cli.execution import prestart

    if prestart.starts_dbt(sys.argv[1:]):
        prestart.start_early()
    from mesh_cli.cli.main import main as run

    run()
