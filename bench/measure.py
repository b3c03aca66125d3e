"""Wall time, CPU time and peak memory of everything the benchmark process starts.

Memory is sampled, not asked of the kernel at exit: `ru_maxrss` gives the largest single process,
while `mesh build` is a tree (the CLI plus its dbt workers), so every ~50 ms a thread sums the RSS
of all descendants of this process (psutil when installed, else /proc). RSS counts shared pages
once per process, as `ps` does; PSS (/proc/<pid>/smaps_rollup) splits them and is reported too."""
from __future__ import annotations

import os
import resource
import statistics
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

try:  # the bench may use psutil; the project does not depend on it
    import psutil
except ImportError:
    psutil = None

PAGE = os.sysconf("SC_PAGE_SIZE")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:   # the process ended while we looked
            continue
        # The command name (2nd field) may hold spaces and parentheses: split after its last ')'.
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def descendants(root: int) -> list[int]:
    if psutil is not None:
        try:
            return [p.pid for p in psutil.Process(root).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
    children, found, todo = _children_map(), [], [root]
    while todo:
        kids = children.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def _memory(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in bytes; PSS is 0 where the kernel does not offer it."""
    rss = pss = 0
    try:
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        pass
    return rss, pss


class TreeSampler:
    """Peak summed RSS and PSS of this process's descendants while the `with` block runs."""

    def __init__(self, interval: float = 0.05, root: Optional[int] = None) -> None:
        self.interval = interval
        self.root = root or os.getpid()
        self.peak_rss = 0
        self.peak_pss = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        rss = pss = 0
        for pid in descendants(self.root):
            r, p = _memory(pid)
            rss, pss = rss + r, pss + p
        self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> "TreeSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Measurement:
    scenario: str
    round: int
    ok: bool
    wall_s: float = 0.0
    cpu_s: float = 0.0          # user + system time of the processes started (and waited for)
    peak_rss_mb: float = 0.0
    peak_pss_mb: float = 0.0
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(scenario: str, round_: int, body: Callable[[], tuple[bool, str]]) -> Measurement:
    """Run `body` (which starts subprocesses and returns (ok, detail)) under the sampler."""
    cpu = _children_cpu()
    with TreeSampler() as sampler:
        began = time.perf_counter()
        ok, detail = body()
        wall = time.perf_counter() - began
    return Measurement(scenario, round_, ok, round(wall, 3), round(_children_cpu() - cpu, 2),
                       round(sampler.peak_rss / 2**20, 1), round(sampler.peak_pss / 2**20, 1), detail)


def median(values: list[float]) -> Optional[float]:
    return statistics.median(values) if values else None
