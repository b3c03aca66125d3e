"""Runs domains in worker processes, in topological order, never two writers of one file at once."""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from mesh_cli.core.errors import DepsFailedError, MeshError
from mesh_cli.project.packages import blamed
from mesh_cli.execution.pool import Worker, WorkerPool


@dataclass
class Task:
    """One domain's dbt run, as planned before anything starts."""

    domain: str
    project_dir: Path
    target_dir: Path
    spec: dict
    env: Callable[[], dict[str, str]]     # computed at start: upstream files exist by then
    upstreams: list[str]                  # domains of this run it waits for
    writes: Optional[str] = None          # storage key it writes
    reads: frozenset[str] = frozenset()   # storage keys it attaches
    before: Callable[[], list[MeshError]] = lambda: []   # checks just before it starts
    after: Callable[[], None] = lambda: None            # on success (publishes its interface)
    verify: Callable[[dict], list[str]] = lambda outcome: []   # problems with what was built
    prepare: Callable[[], None] = lambda: None          # just before dbt starts
    discard: Callable[[], None] = lambda: None          # on failure or cancel: undo what it wrote
    up_to_date: Callable[[], Optional[str]] = lambda: None   # `--changed`: why it need not run, at start


@dataclass
class DomainResult:
    domain: str
    status: str                    # success, error, skipped, cancelled, unchanged
    elapsed: float = 0.0
    started_at: Optional[float] = None    # epoch seconds, None when it never started
    counts: dict[str, dict[str, int]] = field(default_factory=dict)   # resource type -> status -> n
    message: str = ""
    log: Optional[Path] = None
    failed_nodes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"domain": self.domain, "status": self.status, "elapsed": round(self.elapsed, 2),
                "started_at": self.started_at, "counts": self.counts, "message": self.message, "failed_nodes": self.failed_nodes,
                "log": str(self.log) if self.log else None}


@dataclass
class BuildResult:
    domains: list[DomainResult]
    elapsed: float
    cancelled: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.cancelled and all(d.status in _DONE for d in self.domains)

    def to_dict(self) -> dict:
        return {"success": self.success, "cancelled": self.cancelled, "elapsed": round(self.elapsed, 2),
                "domains": [d.to_dict() for d in self.domains]}


_DONE = {"success", "unchanged"}


_OK = {"success", "pass"}
_HEADING = re.compile(r"^(\w+ )*\w*Error$")
_BAD = {"error", "fail", "runtime error"}


def read_run_results(target_dir: Path, since: float) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Counts per resource type and status from dbt's run_results.json, if this run wrote it."""
    path = target_dir / "run_results.json"
    if not path.is_file() or path.stat().st_mtime < since:
        return {}, []
    counts: dict[str, dict[str, int]] = {}
    failed = []
    for r in json.loads(path.read_text(encoding="utf-8")).get("results", []):
        kind = r["unique_id"].split(".", 1)[0]
        status = "ok" if r["status"] in _OK else "failed" if r["status"] in _BAD else str(r["status"])
        counts.setdefault(kind, {}).setdefault(status, 0)
        counts[kind][status] += 1
        if status == "failed":
            failed.append(r["unique_id"])
    return counts, sorted(failed)


@dataclass
class _Running:
    task: Task
    worker: Worker
    started: float
    log: Path
    result_file: Path


def _start(task: Task, worker: Worker, work_dir: Path) -> _Running:
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / f"{task.domain}.log"
    result_file = work_dir / f"{task.domain}.result.json"
    result_file.unlink(missing_ok=True)
    task.prepare()
    worker.submit({"spec": task.spec, "env": task.env(), "cwd": str(task.project_dir), "log": str(log),
                   "result_file": str(result_file)})
    return _Running(task, worker, time.time(), log, result_file)


def _finish(run: _Running, outcome: Optional[dict]) -> DomainResult:
    elapsed = time.time() - run.started
    steps = (outcome or {}).get("steps", [])
    code = max((s["exit_code"] for s in steps), default=0) if outcome is not None else 2
    counts, failed = read_run_results(run.task.target_dir, run.started)
    if code == 0:
        problems = run.task.verify(outcome or {})
        if problems:
            run.task.discard()
            return DomainResult(run.task.domain, "error", elapsed, run.started, counts,
                                f"domain '{run.task.domain}' built, but its data products do not match their published contracts: "
                                + "; ".join(problems) + "; its interface was not handed to downstream domains: fix "
                                "the model, or review the change with `mesh contracts diff` and publish it with "
                                "`mesh contracts publish`", run.log)
        try:
            run.task.after()
        except (OSError, ValueError) as exc:
            run.task.discard()
            return DomainResult(run.task.domain, "error", elapsed, run.started, counts,
                                f"domain '{run.task.domain}' built, but publishing its interface failed: {exc}; its database "
                                "and interface are as they were before it started: fix the cause and build it again",
                                run.log)
        return DomainResult(run.task.domain, "success", elapsed, run.started, counts, "", run.log)
    run.task.discard()
    command = steps[-1]["command"] if steps else run.task.spec["steps"][-1]
    reason = _first_reason(steps[-1].get("exception")) if steps else "the worker process died"
    detail = f"{len(failed)} failed: {', '.join(failed[:3])}{' ...' if len(failed) > 3 else ''}; " if failed else ""
    detail += f"{reason}; " if reason else ""
    message = f"dbt {command} failed in domain '{run.task.domain}' (exit {code}): {detail}see the log: {run.log}"
    spec_file, packages = blamed(run.task.project_dir, reason) if command == "deps" and steps else ("", [])
    if packages:   # name them, so the fix is clear without reading the log
        message = DepsFailedError(run.task.domain, code, spec_file, packages, reason, run.log).message
    return DomainResult(run.task.domain, "error", elapsed, run.started, counts, message, run.log, failed)


def _first_reason(exception: Optional[str]) -> str:
    """The telling line of a dbt exception, without its 'Runtime Error' style heading."""
    lines = [line.strip() for line in (exception or "").splitlines() if line.strip()]
    telling = [line for line in lines if not _HEADING.match(line)]
    return telling[0] if telling else ""


def _conflicts(task: Task, running: list[_Running]) -> bool:
    for r in running:
        other = r.task
        if task.writes and (task.writes == other.writes or task.writes in other.reads):
            return True
        if other.writes and other.writes in task.reads:
            return True
    return False


def run_tasks(tasks: list[Task], work_dir: Path, workers: int = 2,
              on_result: Callable[[DomainResult], None] = lambda r: None,
              on_start: Callable[[str], None] = lambda name: None, skip_downstream: bool = True,
              pool: Optional[WorkerPool] = None) -> BuildResult:
    """Run `tasks` (given in topological order). A failed domain's downstreams are skipped unless
    `skip_downstream` is False (a check parses them all the same); independent domains still run."""
    began = time.time()
    pending = list(tasks)
    running: list[_Running] = []
    results: dict[str, DomainResult] = {}

    def record(result: DomainResult) -> None:
        results[result.domain] = result
        on_result(result)

    cancelled = False
    own = pool is None
    pool = pool if pool is not None else WorkerPool(workers, work_dir)
    try:
        _schedule(pending, running, results, record, pool, work_dir, workers, on_start, skip_downstream)
    except KeyboardInterrupt:
        cancelled = True
        _cancel(pending, running, record, pool)
    finally:
        if own:
            pool.close()
    order = {t.domain: i for i, t in enumerate(tasks)}
    return BuildResult(sorted(results.values(), key=lambda r: order[r.domain]), time.time() - began, cancelled)


def _cancel(pending: list[Task], running: list[_Running], record: Callable[[DomainResult], None],
            pool: WorkerPool) -> None:
    """Ctrl-C: stop every running domain and undo what it wrote; start nothing more."""
    for run in running:
        run.worker.kill()
        run.task.discard()
        record(DomainResult(run.task.domain, "cancelled", time.time() - run.started, run.started,
                            message="cancelled while running; its database is as it was before it started",
                            log=run.log))
    for task in pending:
        record(DomainResult(task.domain, "cancelled", message="cancelled before it started"))
    running.clear()
    pending.clear()
    pool.drain()


def _schedule(pending: list[Task], running: list[_Running], results: dict[str, DomainResult],
              record: Callable[[DomainResult], None], pool: WorkerPool, work_dir: Path, workers: int,
              on_start: Callable[[str], None], skip_downstream: bool) -> None:
    while pending or running:
        for task in list(pending):
            blocked = [u for u in task.upstreams if u in results and results[u].status not in _DONE]
            if blocked and skip_downstream:
                pending.remove(task)
                record(DomainResult(task.domain, "skipped",
                                    message=f"skipped because upstream domain '{blocked[0]}' did not build"))
                continue
            if len(running) >= min(workers, pool.size) or any(u not in results for u in task.upstreams) or _conflicts(task, running):
                continue
            pending.remove(task)
            fresh = task.up_to_date()
            if fresh is not None:
                record(DomainResult(task.domain, "unchanged", message=fresh))
                continue
            errors = task.before()
            if errors:
                record(DomainResult(task.domain, "error", message="\n".join(e.message for e in errors)))
                continue
            worker = pool.idle()
            assert worker is not None  # fewer jobs run than the pool holds
            running.append(_start(task, worker, work_dir))
            on_start(task.domain)
        if running:
            done = pool.wait(timeout=1.0)
            run = next((r for r in running if done and r.worker is done[0]), None)
            if run is not None:
                running.remove(run)
                record(_finish(run, done[1]))
