"""The `mesh` command's entry point: starts a dbt worker before importing the rest of mesh."""
from __future__ import annotations

import sys


def main() -> None:
    from mesh_cli.execution import prestart

    early = prestart.early_worker(sys.argv[1:])
    if early:
        prestart.start_early(standby=early == "standby")
    from mesh_cli.cli.main import main as run

    run()
