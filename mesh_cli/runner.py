"""The only module that imports dbt. It runs in a worker process, one per domain run, because
dbt's programmatic runner is not safe to run twice at once in one process and a process that
exits releases its DuckDB files."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def run_steps(spec: dict[str, Any]) -> dict[str, Any]:
    from dbt.cli.main import dbtRunner

    common = ["--project-dir", spec["project_dir"], "--profiles-dir", spec["profiles_dir"]]
    if spec.get("target"):
        common += ["--target", spec["target"]]
    steps = []
    for command in spec["steps"]:
        args = [command, *common]
        if command in ("build", "seed") and spec.get("threads"):
            args += ["--threads", str(spec["threads"])]
        print(f"mesh: dbt {' '.join(args)}", flush=True)
        result = dbtRunner().invoke(args)
        code = 0 if result.success else (2 if result.exception is not None else 1)
        steps.append({"command": command, "exit_code": code,
                      "exception": str(result.exception) if result.exception is not None else None})
        if code != 0:
            break
    return {"steps": steps}


def main(argv: list[str]) -> int:
    spec_file = Path(argv[1])
    spec = json.loads(spec_file.read_text(encoding="utf-8"))
    outcome = run_steps(spec)
    Path(spec["result_file"]).write_text(json.dumps(outcome), encoding="utf-8")
    return max((s["exit_code"] for s in outcome["steps"]), default=0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
