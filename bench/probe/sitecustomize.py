"""Import probe of the benchmarks: which processes imported dbt.

bench/ puts this folder first on PYTHONPATH for the runs it probes, so Python imports this module
at start-up in the `mesh` CLI and in every Python process it starts (dbt workers get the same
environment). When $MESH_BENCH_IMPORT_LOG is set, the first import of `dbt` (or `dbt.*`) in a
process appends one line, `<pid> <argv>`, to that file. A finder that never finds anything:
it only watches, then lets the normal import go on. Costs one function call per import."""
from __future__ import annotations

import os
import sys
from typing import Any, Optional

_LOG = os.environ.get("MESH_BENCH_IMPORT_LOG")


class _DbtImportProbe:
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Optional[Any]:
        if name == "dbt" or name.startswith("dbt."):
            sys.meta_path.remove(self)   # once per process is enough
            with open(_LOG, "a", encoding="utf-8") as log:   # type: ignore[arg-type]
                log.write(f"{os.getpid()} {' '.join(sys.argv)[:200]}\n")
        return None


if _LOG:
    sys.meta_path.insert(0, _DbtImportProbe())
