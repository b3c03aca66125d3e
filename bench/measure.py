"""Wall time, CPU time and peak memory of everything the benchmark process starts.

Memory is sampled, not asked of the kernel at exit: `ru_maxrss` gives the largest single process,
while `mesh build` is a tree (the CLI plus its dbt workers), so every ~100 ms a thread sums the RSS
of all descendants of this process (psutil when installed, else /proc). RSS counts shared pages
once per process, as `ps` does; PSS (/proc/<pid>/smaps_rollup) splits them and is reported too.

Sampling must not slow what it measures. On 2 cores, sampling every 50 ms at normal priority and
reading PSS each time took 6 s of CPU from a 34 s cold `mesh build` (deep 20 x 20) and made it about
3.5 s slower than unsampled, a cost that fell on the scenarios that keep both cores busy (mesh) and
hardly on those that keep one (the naive loop). So the samplers run at the lowest CPU priority, RSS
(a counter in statm) every 100 ms and PSS (which walks the page tables) every tenth sample: 0.8-1.1 s
of CPU over the same build, sampled 25.4-29.8 s against unsampled 25.6-29.6 s in four alternated pairs."""
from __future__ import annotations

import os
import resource
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
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


TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> Optional[tuple[int, float]]:
    """(start time, user + system CPU seconds so far) of a process, None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2:].split()   # fields from the 3rd on: state is fields[0]
    return int(fields[19]), (int(fields[11]) + int(fields[12])) / TICK


def _memory(pid: int, with_pss: bool = True) -> tuple[int, int]:
    """(RSS, PSS) in bytes; PSS is 0 where the kernel does not offer it or it was not asked for."""
    rss = pss = 0
    try:
        rss = int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        for line in () if not with_pss else Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
                break
    except (OSError, ValueError, IndexError):
        pass
    return rss, pss


def _lowest_priority() -> None:
    """Make the calling thread yield the CPU to the processes it measures (Linux: a thread's nice
    value is its own)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (AttributeError, OSError):   # not Linux, or not allowed: sample at the usual priority
        pass


PSS_EVERY = 10   # samples: PSS walks the process's page tables, RSS (statm) is a counter


class TreeSampler:
    """Peak summed RSS and PSS of this process's descendants while the `with` block runs."""

    def __init__(self, interval: float = 0.1, root: Optional[int] = None) -> None:
        self.interval = interval
        self.root = root or os.getpid()
        self.peak_rss = 0
        self.peak_pss = 0
        self.samples = 0
        self._cpu: dict[tuple[int, int], float] = {}   # (pid, start time) -> CPU seconds last seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        rss = pss = 0
        with_pss = self.samples % PSS_EVERY == 0
        for pid in descendants(self.root):
            r, p = _memory(pid, with_pss)
            rss, pss = rss + r, pss + p
            cpu = _cpu(pid)
            if cpu is not None:
                self._cpu[(pid, cpu[0])] = cpu[1]
        self.peak_rss, self.peak_pss = max(self.peak_rss, rss), max(self.peak_pss, pss)
        self.samples += 1

    def _run(self) -> None:
        _lowest_priority()
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    @property
    def cpu_s(self) -> float:
        """CPU of every descendant seen, as of its last sample (a process's last 100 ms are missed)."""
        return sum(self._cpu.values())

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
    # User + system time of the process tree: the larger of getrusage (exact, but only for the
    # processes waited for: a worker its parent never waits for is missed) and the sampler's sum.
    cpu_s: float = 0.0
    peak_rss_mb: float = 0.0
    peak_pss_mb: float = 0.0
    detail: str = ""
    notes: dict[str, Any] = field(default_factory=dict)   # what a scenario checks besides time and memory

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
    cpu = max(_children_cpu() - cpu, sampler.cpu_s)
    return Measurement(scenario, round_, ok, round(wall, 3), round(cpu, 2),
                       round(sampler.peak_rss / 2**20, 1), round(sampler.peak_pss / 2**20, 1), detail)


def median(values: list[float]) -> Optional[float]:
    return statistics.median(values) if values else None


def disk_usage(folder: Path) -> tuple[int, dict[str, int]]:
    """(bytes on disk under `folder`, allocated blocks, so a sparse or cloned file counts what it
    really takes; each file's apparent size by relative path)."""
    total, files = 0, {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            path = Path(dirpath, name)
            try:
                st = path.stat()
            except OSError:   # removed or renamed while we looked
                continue
            total += st.st_blocks * 512
            files[str(path.relative_to(folder))] = st.st_size
    return total, files


class DiskSampler:
    """Peak disk usage under a folder while the `with` block runs, and every file seen there: a
    build that copies a database shows up as a second large file and a doubled peak."""

    def __init__(self, folder: Path, interval: float = 0.1) -> None:
        self.folder, self.interval = folder, interval
        self.before = disk_usage(folder)[0]
        self.peak = self.before
        self.seen: dict[str, int] = {}   # relative path -> largest apparent size seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        _lowest_priority()
        while True:
            total, files = disk_usage(self.folder)
            self.peak = max(self.peak, total)
            for name, size in files.items():
                self.seen[name] = max(size, self.seen.get(name, 0))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> "DiskSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
