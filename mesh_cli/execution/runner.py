"""The only module that imports dbt. It runs inside worker processes: dbt's programmatic runner is
not safe to run twice at once in one process, so each worker runs one domain job at a time and
stays warm (dbt imported once) for the next one."""
from __future__ import annotations

import gc
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from mesh_cli.execution.stubs import stub_domain_packages


def run_steps(spec: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Run the spec's dbt steps in order, stopping at the first that fails. Each step is recorded in
    `steps` as it starts (exit_code None until it ends), so a step that raises is known."""
    from dbt.cli.main import dbtRunner

    common = ["--project-dir", spec["project_dir"], "--profiles-dir", spec["profiles_dir"]]
    if spec.get("target"):
        common += ["--target", spec["target"]]
    if spec.get("profile"):
        common += ["--profile", spec["profile"]]
    for command in spec["steps"]:
        record: dict[str, Any] = {"command": command, "exit_code": None, "exception": None}
        steps.append(record)
        if command != "deps" and spec.get("domain_packages"):  # after `dbt deps`, which installs them whole
            stub_domain_packages(Path(spec["packages_dir"]), spec["domain_packages"])
        args = [command, *common]
        if command in ("build", "seed") and spec.get("threads"):
            args += ["--threads", str(spec["threads"])]
        if command == "build" and spec.get("select"):  # a model selection: tests follow by eager indirect selection
            args += ["--select", *spec["select"]]
        print(f"mesh: dbt {' '.join(args)}", flush=True)
        result = dbtRunner().invoke(args)
        code = 0 if result.success else (2 if result.exception is not None else 1)
        record.update(exit_code=code, exception=str(result.exception) if result.exception is not None else None)
        if code != 0:
            break
    outcome: dict[str, Any] = {"steps": steps}
    if spec.get("catalog") and steps and all(s["exit_code"] == 0 for s in steps):
        outcome["catalog"] = _catalog(spec, common)
    return outcome


def _catalog(spec: dict[str, Any], common: list[str]) -> dict[str, dict[str, str]]:
    """Columns and types of the selected models as the warehouse reports them (dbt's catalog).

    `docs generate` rewrites manifest.json and run_results.json: the build's are put back, since
    the mesh publishes that manifest (with its compiled SQL) and counts from those results."""
    from dbt.cli.main import dbtRunner

    target = Path(spec["target_dir"])
    saved = {name: (target / name).read_bytes() for name in ("manifest.json", "run_results.json") if (target / name).is_file()}
    args = ["docs", "generate", "--no-compile", "--select", *spec["catalog"], *common]
    print(f"mesh: dbt {' '.join(args)}", flush=True)
    try:
        result = dbtRunner().invoke(args)
    finally:
        for name, data in saved.items():
            (target / name).write_bytes(data)
    if not result.success or result.result is None:
        return {}
    return {uid: {c.name: c.type for c in node.columns.values()} for uid, node in result.result.nodes.items()}


def _release_duckdb() -> None:
    """dbt-duckdb keeps its database open between invocations; close it so that another process
    can attach the file this worker just wrote."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing to release
        return
    DuckDBConnectionManager.close_all_connections()
    gc.collect()


class _Job:
    """One domain job: its environment, working folder and output, restored afterwards."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.saved_env: dict[str, str | None] = {}

    def __enter__(self) -> "_Job":
        for key, value in self.job["env"].items():
            self.saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        self.cwd = os.getcwd()
        os.chdir(self.job["cwd"])
        sys.stdout.flush()
        sys.stderr.flush()
        self.log = open(self.job["log"], "w", encoding="utf-8")
        self.fds = (os.dup(1), os.dup(2))
        # At the descriptor level, so dbt's own handlers (bound to fd 1) write to the log too.
        os.dup2(self.log.fileno(), 1)
        os.dup2(self.log.fileno(), 2)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self.fds[0], 1)
        os.dup2(self.fds[1], 2)
        for fd in self.fds:
            os.close(fd)
        self.log.close()
        os.chdir(self.cwd)
        for key, value in self.saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    with _Job(job):
        try:
            outcome = run_steps(job["spec"], steps)
        except Exception as exc:  # noqa: BLE001 - reported to the parent as the domain's failure
            if not steps or steps[-1]["exit_code"] is not None:   # after every step: the catalog
                steps.append({"command": "docs generate" if steps else job["spec"]["steps"][0], "exit_code": None})
            steps[-1].update(exit_code=2, exception=repr(exc))
            outcome = {"steps": steps}
        finally:
            _release_duckdb()
    Path(job["result_file"]).write_text(json.dumps(outcome), encoding="utf-8")
    return outcome


def serve(requests: TextIO, replies: TextIO) -> None:
    """Read one JSON job per line; answer each with one JSON line when it is done."""
    for line in requests:
        if line.strip():
            outcome = run_job(json.loads(line))
            replies.write(json.dumps(outcome) + "\n")
            replies.flush()


if __name__ == "__main__":
    # Replies go to a copy of the original stdout: fd 1 itself is pointed at each job's log.
    serve(sys.stdin, os.fdopen(os.dup(1), "w", encoding="utf-8"))
