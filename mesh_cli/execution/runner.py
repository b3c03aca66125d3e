"""The only module that imports dbt. It runs inside worker processes: dbt's programmatic runner is
not safe to run twice at once in one process, so each worker runs one domain job at a time and
stays warm (dbt imported once) for the next one."""
from __future__ import annotations

import copy
import gc
import json
import os
import sys
from pathlib import Path
from typing import Any, Optional, TextIO

from mesh_cli.execution.held import HeldDatabase
from mesh_cli.execution.prestart import STANDBY_ENV
from mesh_cli.execution.plan import SCHEMA, StepResult, WorkerDecision, WorkerJob, WorkerReply
from mesh_cli.execution.stubs import stub_domain_packages


_PARSED: dict[str, tuple[str, Any]] = {}   # domain -> (manifest_key, the Manifest its parse returned)


def run_steps(job: WorkerJob, steps: list[dict[str, Any]], invocations: list[str],
              held: Optional[HeldDatabase] = None) -> dict[str, Any]:
    """Run the job's dbt steps in order, stopping at the first that fails. Each step is recorded in
    `steps` as it starts (exit_code None until it ends), so a step that raises is known; the id of
    each dbt invocation that started is added to `invocations` (dbt writes it into its artifacts).

    Every step after the parse runs on the manifest it returned (dbt's documented way to reuse a
    parsed manifest), so a job parses once; a job whose `manifest_key` matches an earlier parse of
    the domain in this worker does not parse at all."""
    manifest, reused = None, False
    kept = _PARSED.pop(job.domain, None)
    if kept is not None and job.manifest_key is not None and kept[0] == job.manifest_key:
        manifest, reused = kept[1], True
    for command in job.dbt.steps:
        if command in ("seed", "build") and manifest is None:
            manifest, ok = _invoke(job, "parse", None, steps, invocations)
            if not ok:
                break
        if command == "seed" and not reads_seeds_as_sources(manifest):
            print("mesh: no model reads a seed through source(): dbt build orders the seeds itself", flush=True)
            continue
        result, ok = _invoke(job, command, manifest if command != "deps" else None, steps, invocations)
        if command == "parse" and ok:
            manifest = result
            if job.manifest_key is not None:
                _PARSED[job.domain] = (job.manifest_key, result)
            if job.dbt.manifest_out is not None:
                _write_without_macros(result, job.dbt.manifest_out)
        if not ok:
            break
    outcome: dict[str, Any] = {"steps": steps, "invocations": invocations, "reused_parse": reused}
    if job.dbt.catalog and steps and all(s["exit_code"] == 0 for s in steps):
        outcome["catalog"] = _catalog(job, manifest, held)
    return outcome


def _invoke(job: WorkerJob, command: str, manifest: Any, steps: list[dict[str, Any]],
            invocations: list[str]) -> tuple[Any, bool]:
    """One dbt invocation, recorded in `steps`: (what dbt returned, whether it succeeded)."""
    from dbt.cli.main import dbtRunner
    from dbt_common.invocation import get_invocation_id

    record: dict[str, Any] = {"command": command, "exit_code": None, "exception": None}
    steps.append(record)
    if command != "deps" and job.packages.domains:  # after `dbt deps`, which installs them whole
        stub_domain_packages(job.packages.install_dir, job.packages.domains)
    args = job.dbt.args(command)
    print(f"mesh: dbt {' '.join(args)}" + (" (on the parsed manifest)" if manifest is not None else ""), flush=True)
    before = get_invocation_id()
    result = dbtRunner(manifest=manifest).invoke(args)
    if get_invocation_id() != before:   # dbt starts a new invocation only once its arguments parse
        invocations.append(get_invocation_id())
    code = 0 if result.success else (2 if result.exception is not None else 1)
    record.update(exit_code=code, exception=str(result.exception) if result.exception is not None else None)
    reference = _refused_reference(result.exception)
    if reference is not None:
        record["reference"] = reference
    return result.result, code == 0


def _write_without_macros(manifest: Any, path: Path) -> None:
    """manifest.json as dbt writes it, less its macros (what mesh reads never looks at them): a copy
    of the Manifest object with none, written with dbt's own writer, then moved into place."""
    slim = copy.copy(manifest)
    slim.macros = {}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    slim.write(str(tmp))
    tmp.replace(path)


def reads_seeds_as_sources(manifest: Any) -> bool:
    """Whether a source of the project names a seed's relation: dbt build does not order such
    seeds before the models reading them, so a first build seeds first. Unknown: True."""
    if manifest is None:
        return True
    seeds = {(n.schema.lower(), n.alias.lower()) for n in manifest.nodes.values() if n.resource_type == "seed"}
    return any((s.schema.lower(), s.identifier.lower()) in seeds for s in manifest.sources.values())


def _refused_reference(exception: BaseException | None) -> dict[str, str] | None:
    """dbt's refusal of a ref to a private (or protected) node, as the fields it carries."""
    from dbt.exceptions import DbtReferenceError

    if not isinstance(exception, DbtReferenceError):
        return None
    # access is dbt's AccessType, a str enum: its str() is the word dbt's message uses
    return {"node": exception.unique_id, "target": exception.ref_unique_id, "access": str(exception.access),
            "scope": exception.scope}


def _catalog(job: WorkerJob, manifest: Any, held: Optional[HeldDatabase]) -> dict[str, dict[str, str]]:
    """Columns and types of the selected models as the warehouse reports them (dbt's catalog): read
    on the held DuckDB file directly, else with `dbt docs generate` on the parsed manifest.

    `docs generate` rewrites manifest.json and run_results.json: the build's are put back, since
    the mesh publishes that manifest (with its compiled SQL) and counts from those results."""
    if held is not None and manifest is not None:
        wanted = set(job.dbt.catalog)
        return held.columns((uid, n.database, n.schema, n.alias) for uid, n in manifest.nodes.items()
                            if n.resource_type == "model" and n.package_name == job.domain and n.name in wanted)
    from dbt.cli.main import dbtRunner

    target = job.target_dir
    saved = {name: (target / name).read_bytes() for name in ("manifest.json", "run_results.json") if (target / name).is_file()}
    args = job.dbt.catalog_args()
    print(f"mesh: dbt {' '.join(args)}", flush=True)
    try:
        result = dbtRunner(manifest=manifest).invoke(args)
    finally:
        for name, data in saved.items():
            (target / name).write_bytes(data)
    if not result.success or result.result is None:
        return {}
    return {uid: {c.name: c.type for c in node.columns.values()} for uid, node in result.result.nodes.items()}


def _release_duckdb(collect: bool) -> None:
    """dbt-duckdb keeps its database open between invocations; close it so that another process
    can attach the file this worker just wrote. `collect`: also collect garbage, for a file no held
    connection closes explicitly (a full collection over a warm worker's heap costs a good part of
    a second, so it is not made after every job)."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # another adapter: nothing to release
        return
    DuckDBConnectionManager.close_all_connections()
    if collect:
        gc.collect()


class _Job:
    """One domain job: its environment, working folder and output, restored afterwards."""

    def __init__(self, job: WorkerJob) -> None:
        self.job = job
        self.saved_env: dict[str, str | None] = {}

    def __enter__(self) -> "_Job":
        for key, value in self.job.env.items():
            self.saved_env[key] = os.environ.get(key)
            os.environ[key] = value
        self.cwd = os.getcwd()
        os.chdir(self.job.cwd)
        sys.stdout.flush()
        sys.stderr.flush()
        self.log = open(self.job.log, "w", encoding="utf-8")
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


def run_job(job: WorkerJob) -> tuple[WorkerReply, Optional[HeldDatabase]]:
    """Run `job`; with `hold`, the database stays open after a success, its changes uncommitted."""
    steps: list[dict[str, Any]] = []
    invocations: list[str] = []
    held: Optional[HeldDatabase] = None
    with _Job(job):
        try:
            if job.hold is not None:
                held = HeldDatabase(job.hold, job.hold_config)
            outcome = run_steps(job, steps, invocations, held)
        except Exception as exc:  # noqa: BLE001 - reported to the parent as the domain's failure
            if not steps or steps[-1]["exit_code"] is not None:   # after every step: the catalog
                steps.append({"command": "docs generate" if steps else job.dbt.steps[0], "exit_code": None})
            steps[-1].update(exit_code=2, exception=repr(exc))
            outcome = {"steps": steps, "invocations": invocations}
        finally:
            # A held database is closed by its decision; a parse opens none.
            _release_duckdb(collect=job.hold is None and any(c in ("seed", "build") for c in job.dbt.steps))
        if held is not None and any(s["exit_code"] != 0 for s in outcome["steps"]):
            held.close()   # failed: nothing to decide, the orchestrator drops the log
            held = None
    outcome["held"] = held is not None
    reply = WorkerReply.model_validate(outcome)
    job.result_file.write_text(reply.model_dump_json(), encoding="utf-8")
    return reply, held


def decide(held: Optional[HeldDatabase], decision: WorkerDecision) -> WorkerReply:
    command = "commit" if decision.commit else "discard"
    if held is None:
        return WorkerReply(steps=(StepResult(command=command, exit_code=2, exception="no database is held"),))
    try:
        held.commit() if decision.commit else held.close()
    except Exception as exc:  # noqa: BLE001 - the orchestrator puts the published state back
        return WorkerReply(steps=(StepResult(command=command, exit_code=2, exception=str(exc)),))
    return WorkerReply(steps=(StepResult(command=command, exit_code=0),))


def _refused(exc: Exception) -> WorkerReply:
    """A message this worker cannot read (another schema version, or not a message at all)."""
    return WorkerReply(steps=(StepResult(command="job", exit_code=2, exception=f"this worker reads job schema "
                                         f"version {SCHEMA}: {exc}"),))


def _message(line: str) -> WorkerJob | WorkerDecision:
    data = json.loads(line)
    if isinstance(data, dict) and "commit" in data:
        return WorkerDecision.model_validate(data)
    return WorkerJob.model_validate(data)


def serve(requests: TextIO, replies: TextIO) -> None:
    """Read one JSON message per line; answer each with one JSON line when it is done. A job that
    holds its database is followed by a decision; the file is let go when the input ends."""
    held: Optional[HeldDatabase] = None
    for line in requests:
        if line.strip():
            try:
                message = _message(line)
            except ValueError as exc:   # pydantic's ValidationError and JSON errors included
                reply = _refused(exc)
            else:
                if isinstance(message, WorkerDecision):
                    reply, held = decide(held, message), None
                else:
                    if held is not None:   # a job without the decision the last one waits for
                        held.close()
                    reply, held = run_job(message)
            replies.write(reply.model_dump_json() + "\n")
            replies.flush()
    if held is not None:
        held.close()


def share_parsed_jinja() -> bool:
    """Have every dbt invocation in this process reuse what an earlier one parsed from the same
    Jinja text: dbt-common's switch for running many invocations in one process (dbt's own test
    harness turns it on). A domain's parse spends most of its time parsing the macros of dbt and
    of the adapter, the same text in every domain; the caches are keyed by the text itself, so a
    macro or a file that differs is parsed anew. Whether dbt-common has the switch."""
    try:
        from dbt_common.tests import enable_test_caching
    except ImportError:   # a dbt-common without it: every parse parses everything, as before
        return False
    enable_test_caching()
    return True


if __name__ == "__main__":
    if os.environ.pop(STANDBY_ENV, None) and not sys.stdin.readline():
        sys.exit(0)   # on standby, and the command built nothing: dbt was never imported
    # Imported now, while the orchestrator is still planning, not when the first job arrives.
    import dbt.cli.main  # noqa: F401

    share_parsed_jinja()
    # Replies go to a copy of the original stdout: fd 1 itself is pointed at each job's log.
    serve(sys.stdin, os.fdopen(os.dup(1), "w", encoding="utf-8"))
