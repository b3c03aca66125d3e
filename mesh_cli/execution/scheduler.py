"""Runs domains in worker processes, in topological order, never two writers of one file at once."""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Protocol

from mesh_cli.core.errors import DepsFailedError, MeshError
from mesh_cli.core.results import BuildResult, DomainResult, dbt_run_results
from mesh_cli.core.status import DONE, DomainStatus
from mesh_cli.project.packages import blamed
from mesh_cli.execution.plan import DomainPlan, WorkerJob, WorkerReply
from mesh_cli.execution.pool import Worker, WorkerPool
from mesh_cli.execution.warmup import parses_from_scratch, warm_up_job
from mesh_cli.state.staging import DatabaseBuild


class Guards(Protocol):
    """What the layers above decide about a domain as it runs: the scheduler asks, never judges."""

    def before(self, plan: DomainPlan) -> list[str]: ...              # refusals just before it starts
    def up_to_date(self, plan: DomainPlan) -> Optional[str]: ...      # `--changed`: why it need not run
    def manifest_key(self, plan: DomainPlan) -> Optional[str]: ...    # what its parse depends on, as it starts
    def verify(self, plan: DomainPlan, catalog: dict[str, dict[str, str]]) -> list[str]: ...  # what was built
    # Make a success visible; `commit` (raises OSError) writes the database's changes, as the last step.
    def publish(self, plan: DomainPlan, commit: Callable[[], None]) -> None: ...


_HEADING = re.compile(r"^(\w+ )*\w*Error$")
# dbt's node statuses (its words, not a DomainStatus), counted as ok or failed
_OK = {"success", "pass"}
_BAD = {"error", "fail", "runtime error"}


def read_run_results(target_dir: Path, invocations: list[str]) -> tuple[dict[str, dict[str, int]], list[str]]:
    """Counts per resource type and status from dbt's run_results.json, if one of this run's dbt
    `invocations` wrote it."""
    counts: dict[str, dict[str, int]] = {}
    failed = []
    for r in (dbt_run_results(target_dir, invocations) or {}).get("results", []):
        kind = r["unique_id"].split(".", 1)[0]
        status = "ok" if r["status"] in _OK else "failed" if r["status"] in _BAD else str(r["status"])
        counts.setdefault(kind, {}).setdefault(status, 0)
        counts[kind][status] += 1
        if status == "failed":
            failed.append(r["unique_id"])
    return counts, sorted(failed)


@dataclass
class _Running:
    plan: DomainPlan
    worker: Worker
    started: float
    log: Path


def _building(plan: DomainPlan) -> Optional[DatabaseBuild]:
    return DatabaseBuild(plan.staging.database) if plan.staging is not None else None


def _discard(plan: DomainPlan, worker: Optional[Worker] = None) -> None:
    """On failure, refusal or cancel: the build's changes go, the domain's database stays as it was.
    `worker`: the one still holding the database open, told to let go of it first."""
    if worker is not None:
        worker.decide(commit=False)
    building = _building(plan)
    if building is not None:
        building.discard()


def _commit(plan: DomainPlan, worker: Worker) -> None:
    """Have the worker write the held changes into the database; raises OSError when it cannot."""
    answer = worker.decide(commit=True)
    step = WorkerReply.model_validate(answer).steps[0] if answer is not None else None
    if step is None or step.exit_code != 0:
        database = plan.staging.database if plan.staging is not None else plan.domain
        why = "the worker process died" if step is None else (step.exception or "it failed")
        raise OSError(f"cannot write the build's changes into {database}: {why}")
    building = _building(plan)
    if building is not None:
        building.done()


def _start(plan: DomainPlan, worker: Worker, work_dir: Path, manifest_key: Optional[str]) -> _Running:
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / f"{plan.domain}.log"
    result_file = work_dir / f"{plan.domain}.result.json"
    result_file.unlink(missing_ok=True)
    building = _building(plan)
    if building is not None:
        building.prepare()
    worker.submit(WorkerJob(domain=plan.domain, dbt=plan.dbt, env=plan.env, packages=plan.packages,
                            cwd=plan.project_dir, log=log, target_dir=plan.target_dir, result_file=result_file,
                            hold=building.database if building is not None else None,
                            hold_config=plan.staging.config if plan.staging is not None else {},
                            manifest_key=manifest_key).model_dump(mode="json"))
    return _Running(plan, worker, time.time(), log)


def _finish(run: _Running, answer: Optional[dict], guards: Guards) -> DomainResult:
    elapsed = time.time() - run.started
    reply = WorkerReply.model_validate(answer) if answer is not None else None
    outcome = reply.model_dump(mode="json") if reply is not None else None
    steps = [s.model_dump() for s in reply.steps] if reply is not None else []
    code = max((s["exit_code"] or 0 for s in steps), default=0) if reply is not None else 2
    counts, failed = read_run_results(run.plan.target_dir, list(reply.invocations) if reply is not None else [])
    domain = run.plan.domain
    holder = run.worker if reply is not None and reply.held else None
    if code == 0:
        problems = guards.verify(run.plan, reply.catalog or {}) if reply is not None else []
        if problems:
            _discard(run.plan, holder)
            return DomainResult(domain, DomainStatus.ERROR, elapsed, run.started, counts,
                                f"domain '{domain}' built, but its data products do not match their published contracts: "
                                + "; ".join(problems) + "; its interface was not handed to downstream domains: fix "
                                "the model, or review the change with `mesh contracts diff` and publish it with "
                                "`mesh contracts publish`", run.log, outcome=outcome)
        committed = False

        def commit() -> None:
            nonlocal committed
            committed = True   # asked: whatever it answers, the worker holds the database no more
            if holder is not None:
                _commit(run.plan, holder)

        try:
            guards.publish(run.plan, commit)
        except (OSError, ValueError, MeshError) as exc:   # e.g. a manifest of an unsupported dbt
            _discard(run.plan, holder if not committed else None)
            return DomainResult(domain, DomainStatus.ERROR, elapsed, run.started, counts,
                                f"domain '{domain}' built, but publishing its interface failed: {exc}; its database "
                                "and interface are as they were before it started: fix the cause and build it again",
                                run.log, outcome=outcome)
        return DomainResult(domain, DomainStatus.SUCCESS, elapsed, run.started, counts, "", run.log,
                            outcome=outcome)
    _discard(run.plan, holder)
    command = steps[-1]["command"] if steps else run.plan.dbt.steps[-1]
    reason = _first_reason(steps[-1].get("exception")) if steps else "the worker process died"
    detail = f"{len(failed)} failed: {', '.join(failed[:3])}{' ...' if len(failed) > 3 else ''}; " if failed else ""
    detail += f"{reason}; " if reason else ""
    message = f"dbt {command} failed in domain '{domain}' (exit {code}): {detail}see the log: {run.log}"
    spec_file, packages = blamed(run.plan.project_dir, reason) if command == "deps" and steps else ("", [])
    if packages:   # name them, so the fix is clear without reading the log
        message = DepsFailedError(domain, code, spec_file, packages, reason, run.log).message
    return DomainResult(domain, DomainStatus.ERROR, elapsed, run.started, counts, message, run.log, failed,
                        outcome)


def _first_reason(exception: Optional[str]) -> str:
    """The telling line of a dbt exception, without its 'Runtime Error' style heading."""
    lines = [line.strip() for line in (exception or "").splitlines() if line.strip()]
    telling = [line for line in lines if not _HEADING.match(line)]
    return telling[0] if telling else ""


def _conflicts(task: DomainPlan, running: list[_Running]) -> bool:
    for r in running:
        other = r.plan
        if task.writes and (task.writes == other.writes or task.writes in other.reads):
            return True
        if other.writes and other.writes in task.reads:
            return True
    return False


def dispatch_order(pending: list[str], kept_by_busy: set[str]) -> list[str]:
    """The order in which `pending` domains (in topological order) are offered a free worker: those
    whose parse a busy worker keeps go last, the order otherwise kept. A free worker so takes first
    what it can build without parsing again; a domain whose parse another worker keeps still starts
    when nothing else can (parsing again costs less than leaving a core idle)."""
    return sorted(pending, key=lambda d: d in kept_by_busy)


def run_plan(plans: list[DomainPlan], guards: Guards, work_dir: Path, workers: int = 2,
             on_result: Callable[[DomainResult], None] = lambda r: None,
             on_start: Callable[[str], None] = lambda name: None, skip_downstream: bool = True,
             pool: Optional[WorkerPool] = None) -> BuildResult:
    """Run `plans` (given in topological order). A failed domain's downstreams are skipped unless
    `skip_downstream` is False (a check parses them all the same); independent domains still run."""
    began = time.time()
    run = _Run(list(plans), guards, work_dir, workers, on_result, on_start, skip_downstream,
               pool if pool is not None else WorkerPool(workers, work_dir))
    cancelled = False
    try:
        run.schedule()
    except KeyboardInterrupt:
        cancelled = True
        run.cancel()
    finally:
        if pool is None:
            run.pool.close()
    order = {p.domain: i for i, p in enumerate(plans)}
    return BuildResult(sorted(run.results.values(), key=lambda r: order[r.domain]), time.time() - began, cancelled)


@dataclass
class _Run:
    pending: list[DomainPlan]
    guards: Guards
    work_dir: Path
    workers: int
    on_result: Callable[[DomainResult], None]
    on_start: Callable[[str], None]
    skip_downstream: bool
    pool: WorkerPool
    running: list[_Running] = field(default_factory=list)
    results: dict[str, DomainResult] = field(default_factory=dict)
    warming: list[Worker] = field(default_factory=list)

    def record(self, result: DomainResult) -> None:
        self.results[result.domain] = result
        self.on_result(result)

    def schedule(self) -> None:
        while self.pending or self.running:
            busy = {d for d, w in self.pool.parsed_by.items() if w.busy}
            rank = {d: i for i, d in enumerate(dispatch_order([p.domain for p in self.pending], busy))}
            for plan in sorted(self.pending, key=lambda p: rank[p.domain]):
                self._consider(plan)
            self._warm_up()
            if self.running:
                done = self.pool.wait(timeout=1.0)
                if done is None:   # a worker that is gone without a word: its job died with it
                    gone = next((r for r in self.running if r.worker.gone), None)
                    done = (gone.worker, None) if gone is not None else None
                finished = next((r for r in self.running if done and r.worker is done[0]), None)
                if finished is not None:
                    result = _finish(finished, done[1], self.guards)   # Ctrl-C in it: cancel() undoes it
                    self.running.remove(finished)
                    if result.status == DomainStatus.SUCCESS and "parse" in finished.plan.dbt.steps:
                        self.pool.parsed_by[finished.plan.domain] = finished.worker   # it keeps that parse
                    self.record(result)

    def _consider(self, plan: DomainPlan) -> None:
        """Start `plan` when it may, skip it when an upstream failed, leave it waiting otherwise."""
        blocked = [u for u in plan.upstreams if u in self.results and self.results[u].status not in DONE]
        if blocked and self.skip_downstream:
            self.pending.remove(plan)
            self.record(DomainResult(plan.domain, DomainStatus.SKIPPED,
                                     message=f"skipped because upstream domain '{blocked[0]}' did not build"))
            return
        if self._full() or any(u not in self.results for u in plan.upstreams) or _conflicts(plan, self.running):
            return
        self.pending.remove(plan)
        fresh = self.guards.up_to_date(plan) if plan.only_if_stale else None
        if fresh is not None:
            self.record(DomainResult(plan.domain, DomainStatus.UNCHANGED, message=fresh))
            return
        refused = self.guards.before(plan)
        if refused:
            self.record(DomainResult(plan.domain, DomainStatus.ERROR, message="\n".join(refused)))
            return
        worker = self.pool.idle(prefer=self.pool.parsed_by.get(plan.domain))
        assert worker is not None  # fewer jobs run than the pool holds
        self.running.append(_start(plan, worker, self.work_dir, self.guards.manifest_key(plan)))
        self.on_start(plan.domain)

    def _full(self) -> bool:
        """No job can start now: as many run as allowed, or every worker is busy (warming up, say)."""
        return len(self.running) >= min(self.workers, self.pool.size) or not self.pool.has_room()

    def _warm_up(self) -> None:
        """Domains wait for one that is parsed from scratch: a worker that has parsed nothing yet
        parses it too instead of idling (execution/warmup.py)."""
        if not self.pending or self._full():
            return
        source = next((r.plan for r in self.running if parses_from_scratch(r.plan)), None)
        worker = self.pool.idle() if source is not None else None
        if source is not None and worker is not None and worker.jobs == 0:
            worker.submit(warm_up_job(source, self.work_dir).model_dump(mode="json"))
            self.warming.append(worker)

    def cancel(self) -> None:
        """Ctrl-C: stop every running domain and undo what it wrote; start nothing more."""
        for worker in self.warming:
            if worker.busy and all(r.worker is not worker for r in self.running):
                worker.kill()
        for run in self.running:
            run.worker.kill()
            _discard(run.plan)
            self.record(DomainResult(run.plan.domain, DomainStatus.CANCELLED, time.time() - run.started, run.started,
                                     message="cancelled while running; its database is as it was before it started",
                                     log=run.log))
        for plan in self.pending:
            self.record(DomainResult(plan.domain, DomainStatus.CANCELLED, message="cancelled before it started"))
        self.running.clear()
        self.pending.clear()
        self.pool.drain()
