"""What the benchmark scripts share: a clean environment, running a command into the log, and the
commands a user would type (`mesh ...`, plain `dbt`, `mesh env`)."""
from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Optional

from mesh_cli.core.layout import ATTACH_ENV, DOMAIN_ENV, PATH_ENV, ROOT_ENV, STATE_ENV, UPSTREAMS_ENV

BENCH = Path(__file__).resolve().parent
PROBE_DIR = BENCH / "probe"          # holds sitecustomize.py, the dbt import probe
PROBE_ENV = "MESH_BENCH_IMPORT_LOG"
DBT = str(Path(sys.executable).with_name("dbt")) if Path(sys.executable).with_name("dbt").exists() else "dbt"
# Variables of the caller that would point a run at another mesh or profile.
_LEAKY = (ROOT_ENV, STATE_ENV, PATH_ENV, ATTACH_ENV, DOMAIN_ENV, UPSTREAMS_ENV, PROBE_ENV,
          "DBT_PROFILES_DIR", "DBT_PROFILE", "DBT_TARGET_PATH", "DBT_PROJECT_DIR")


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"   # the same for every scenario: no tracking calls
    return env


def probe_env(log: Path) -> dict[str, str]:
    """base_env() plus the import probe: every Python process started logs its first dbt import."""
    env = base_env()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROBE_DIR), env.get("PYTHONPATH", "")) if p)
    env[PROBE_ENV] = str(log)
    return env


def run(cmd: list[str], cwd: Path, env: Optional[dict[str, str]] = None, log: Optional[Path] = None) -> tuple[bool, str]:
    """Run to the end; (ok, the output's tail when it failed). Everything goes to `log`."""
    done = subprocess.run(cmd, cwd=cwd, env=env or base_env(), capture_output=True, text=True)
    if log is not None:
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"$ {' '.join(cmd)}\n{done.stdout}{done.stderr}\nexit {done.returncode}\n")
    tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
    return done.returncode == 0, "" if done.returncode == 0 else f"exit {done.returncode}: " + " | ".join(tail)


def rm(*paths: Path) -> None:
    for p in paths:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def mesh_cmd(root: Path, command: str, *extra: str) -> list[str]:
    """`mesh <command> --project-dir root ...`, through this Python (the venv's mesh_cli)."""
    return [sys.executable, "-m", "mesh_cli", command, "--project-dir", str(root), *extra]


def mesh_env(root: Path, domain: str) -> dict[str, str]:
    """What `mesh env <domain> --format json` prints: the environment plain dbt needs in that domain."""
    done = subprocess.run(mesh_cmd(root, "env", domain, "--format", "json"), capture_output=True, text=True,
                          env=base_env())
    if done.returncode != 0:
        raise RuntimeError(f"mesh env {domain} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def dbt_by_hand(root: Path, domain: str, env: dict[str, str], threads: int, log: Path,
                command: str = "build") -> tuple[bool, str]:
    """`cd domains/<d> && eval "$(mesh env <d>)" && dbt <command> --profiles-dir ../../profiles`, as the README says."""
    folder = root / "domains" / domain
    return run([DBT, command, "--project-dir", str(folder), "--profiles-dir", str(root / "profiles"),
                "--threads", str(threads)], folder, {**base_env(), **env}, log)


def machine() -> str:
    """Cores, memory, Python and the load when the run starts (a loaded machine makes numbers meaningless)."""
    try:
        mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        ram = f", {int(mem.group(1)) / 2**20:.0f} GiB" if mem else ""
    except OSError:
        ram = ""
    return f"{os.cpu_count()} cores{ram}, Python {platform.python_version()}, load average {os.getloadavg()[0]:.2f} at start"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name} results: begin -->", f"<!-- {name} results: end -->"


def write_out(path: Path, text: str, name: str = "bench/compare.py") -> None:
    """Replace the block between `name`'s markers in `path` (docs/benchmarks.md), else append one."""
    begin, end = markers(name)
    doc = path.read_text(encoding="utf-8") if path.is_file() else ""
    if begin in doc and end in doc:
        head, rest = doc.split(begin, 1)
        doc = head + begin + "\n" + text + end + rest.split(end, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n" + begin + "\n" + text + end + "\n"
    path.write_text(doc, encoding="utf-8")
