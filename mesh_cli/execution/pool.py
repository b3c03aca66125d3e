"""A pool of warm worker processes running domain jobs; the parent side, free of dbt."""
from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Optional

from mesh_cli.execution import prestart
from mesh_cli.execution.plan import SCHEMA


class Worker:
    def __init__(self, index: int, replies: "queue.Queue[tuple[Worker, Optional[dict]]]", log: Path,
                 process: "Optional[subprocess.Popen[str]]" = None) -> None:
        log.parent.mkdir(parents=True, exist_ok=True)
        self.process = process if process is not None else prestart.spawn()
        self.index = index
        self.busy = False
        self.jobs = 0   # jobs it was given: one that has had none has parsed nothing yet
        self._replies = replies
        self._deciding = False   # the one message under way is a decision: its reply is decide()'s
        self._decisions: "queue.Queue[Optional[dict]]" = queue.Queue()
        self._log = log
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.copier = threading.Thread(target=self._copy_errors, daemon=True)
        self.copier.start()

    def _copy_errors(self) -> None:
        """The worker's stderr into its log, as it comes (a worker started early had no log yet)."""
        assert self.process.stderr is not None
        with self._log.open("a", encoding="utf-8") as errors:
            for line in self.process.stderr:
                errors.write(line)
                errors.flush()

    def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            for line in self.process.stdout:
                try:
                    reply = json.loads(line)
                except ValueError:   # not a reply: kept in the worker's log, the reading goes on
                    with self._log.open("a", encoding="utf-8") as errors:
                        errors.write(f"mesh: not a reply from the worker: {line!r}\n")
                    continue
                if self._deciding:
                    self._decisions.put(reply)
                else:
                    self._replies.put((self, reply))
        finally:   # whatever ended the reading, a job under way must not wait for it forever
            self._decisions.put(None)
            self._replies.put((self, None))  # the process ended: a job under way died with it

    @property
    def gone(self) -> bool:
        """The process has ended and everything it said has been read."""
        return self.process.poll() is not None and not self._reader.is_alive()

    def submit(self, job: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.busy = True
        self.jobs += 1
        self.process.stdin.write(json.dumps(job) + "\n")
        self.process.stdin.flush()

    def decide(self, commit: bool) -> Optional[dict[str, Any]]:
        """Tell the worker holding a database what to do with the build's changes, and wait for it
        to be done: its reply, None when the worker died."""
        assert self.process.stdin is not None
        self._deciding = True
        try:
            self.process.stdin.write(json.dumps({"schema_version": SCHEMA, "commit": commit}) + "\n")
            self.process.stdin.flush()
        except OSError:   # the worker is gone
            self._deciding = False
            return None
        try:
            return self._decisions.get()
        finally:
            self._deciding = False

    def kill(self) -> None:
        """Stop the job under way at once (a cancelled build)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.busy = False

    def stop(self, wait: bool = True) -> None:
        """End the worker: it exits once it has read the end of its input. `wait`: until it has."""
        if self.process.stdin is not None:
            try:
                self.process.stdin.close()
            except OSError:   # it is gone already
                pass
        if not wait:
            return
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class WorkerPool:
    """At most `size` warm processes, started on demand and stopped together."""

    def __init__(self, size: int, log_dir: Path) -> None:
        self.size = size
        self.log_dir = log_dir
        self.workers: list[Worker] = []
        self.parsed_by: dict[str, Worker] = {}   # domain -> the worker that keeps its last parse
        self.replies: "queue.Queue[tuple[Worker, Optional[dict]]]" = queue.Queue()

    def start(self, count: Optional[int] = None) -> None:
        """Start workers now (up to `count`), so that they import dbt while the mesh is still being
        loaded and planned instead of when the first job arrives."""
        while len(self._alive()) < min(self.size, count if count is not None else self.size):
            self._spawn()

    def _alive(self) -> list[Worker]:
        return [w for w in self.workers if w.process.poll() is None]

    def _spawn(self) -> Worker:
        early = prestart.take()
        if early is not None and early.stdin is not None:
            try:   # a worker on standby imports dbt once it reads a line (the others skip an empty one)
                early.stdin.write("\n")
                early.stdin.flush()
            except OSError:   # it is gone: the reader sees it end
                pass
        worker = Worker(len(self.workers), self.replies, self.log_dir / f"worker-{len(self.workers)}.log", early)
        self.workers.append(worker)
        return worker

    def _free(self) -> list[Worker]:
        return [w for w in self.workers if not w.busy and w.process.poll() is None]

    def has_room(self) -> bool:
        """Whether idle() would find a worker."""
        return bool(self._free()) or len(self._alive()) < self.size

    def idle(self, prefer: Optional[Worker] = None) -> Optional[Worker]:
        """An idle worker (`prefer` when it is one), started if none is and the pool has room."""
        free = self._free()
        if prefer is not None and prefer in free:
            return prefer
        if free:
            return free[0]
        return self._spawn() if len(self._alive()) < self.size else None

    def wait(self, timeout: float) -> Optional[tuple[Worker, Optional[dict]]]:
        try:
            worker, outcome = self.replies.get(timeout=timeout)
        except queue.Empty:
            return None
        worker.busy = False
        return worker, outcome

    def close(self, wait: bool = True) -> None:
        """Stop every worker; without `wait`, return while they exit (nothing of theirs is held by
        then: each lets go of its databases when a job ends)."""
        for worker in self.workers:
            worker.stop(wait)

    def drain(self) -> None:
        """Forget replies of killed jobs, so the next run does not read them."""
        while True:
            try:
                self.replies.get_nowait()
            except queue.Empty:
                return

    def __enter__(self) -> "WorkerPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
