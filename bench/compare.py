"""Is mesh fast? The same synthetic models built five ways, interleaved, plus planning at scale.

    python bench/compare.py --domains 20 --models 20 --rounds 3 --workers 2 --out docs/benchmarks.md

Scenarios (letters as in docs/benchmarks.md):
  a  `mesh build`, from scratch: no warehouse, no .mesh/ state, no dbt target/ (dbt parses everything)
  b  `dbt build` of the monolithic project holding the same models, from scratch, same --threads
  c  naive: one `dbt build` subprocess per domain in topological order, from scratch, each with the
     environment `mesh env <domain> --format json` prints and the mesh's profiles/; after each domain
     its manifest is published to .mesh/state/ so the next domain's refs resolve
  d  `mesh build --changed` with nothing changed (after a build)
  e  `mesh build --changed` after editing one model of the root domain and one of a leaf domain
  f  planning a 500 x 50 mesh from synthetic manifests, no dbt: Mesh.load + graph + plan in this
     process, and `mesh ls` as a subprocess (see bench/planning.py)
  g  (optional) `mesh build --skip-checks` from scratch: (a) without `mesh check` first

Rounds are interleaved so machine drift hits every scenario alike: round r runs a..e in an order
rotated by r. Before the rounds, an untimed warm-up builds each copy once (it proves the generated
projects build, gives `mesh env` its upstream files, and leaves (d)/(e) a built mesh). d and e are
"n/a" while `mesh build` has no `--changed` option."""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from generate import MeshSpec, make_spec, write_mesh, write_monolith
from measure import Measurement, measure, median
import planning

from mesh_cli.core.layout import ATTACH_ENV, DOMAIN_ENV, PATH_ENV, ROOT_ENV, STATE_ENV, UPSTREAMS_ENV, Layout
from mesh_cli.state.interface import publish

TIMED = "abcdeg"
LABELS = {
    "a": "mesh build (from scratch)",
    "b": "dbt build, monolithic project (from scratch)",
    "c": "naive: dbt build per domain (from scratch)",
    "d": "mesh build --changed, nothing changed",
    "e": "mesh build --changed, root + leaf model edited",
    "g": "mesh build --skip-checks (from scratch)",
}
DBT = str(Path(sys.executable).with_name("dbt")) if Path(sys.executable).with_name("dbt").exists() else "dbt"
# Variables of the caller that would point a run at another mesh or profile.
_LEAKY = (ROOT_ENV, STATE_ENV, PATH_ENV, ATTACH_ENV, DOMAIN_ENV, UPSTREAMS_ENV,
          "DBT_PROFILES_DIR", "DBT_PROFILE", "DBT_TARGET_PATH", "DBT_PROJECT_DIR")


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY}
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "false"   # the same for every scenario: no tracking calls
    return env


def _run(cmd: list[str], cwd: Path, env: Optional[dict[str, str]] = None, log: Optional[Path] = None) -> tuple[bool, str]:
    done = subprocess.run(cmd, cwd=cwd, env=env or base_env(), capture_output=True, text=True)
    if log is not None:
        with log.open("a", encoding="utf-8") as handle:
            handle.write(f"$ {' '.join(cmd)}\n{done.stdout}{done.stderr}\nexit {done.returncode}\n")
    tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
    return done.returncode == 0, "" if done.returncode == 0 else f"exit {done.returncode}: " + " | ".join(tail)


def _rm(*paths: Path) -> None:
    for p in paths:
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


class Bench:
    def __init__(self, spec: MeshSpec, work: Path, workers: int, threads: int) -> None:
        self.spec, self.work, self.workers, self.threads = spec, work, workers, threads
        self.mesh, self.naive, self.mono = work / "mesh", work / "naive", work / "monolith"
        self.log = work / "bench.log"
        self.naive_env: dict[str, dict[str, str]] = {}
        self.changed = False

    # --- setup -------------------------------------------------------------------------------

    def write(self) -> None:
        write_mesh(self.spec, self.mesh)
        write_mesh(self.spec, self.naive)
        write_monolith(self.spec, self.mono)

    def _mesh_cmd(self, root: Path, *extra: str) -> list[str]:
        return [sys.executable, "-m", "mesh_cli", "build", "--project-dir", str(root), "--workers", str(self.workers),
                "--threads", str(self.threads), *extra]

    def warm_up(self, scenarios: str) -> None:
        """Untimed: build each copy once; stop with the log's tail when any of them fails."""
        help_text = subprocess.run([sys.executable, "-m", "mesh_cli", "build", "--help"], capture_output=True,
                                   text=True, env=base_env()).stdout
        self.changed = "--changed" in help_text
        steps: list[tuple[str, Callable[[], tuple[bool, str]]]] = []
        if set(scenarios) & set("adeg"):
            steps.append(("mesh", lambda: _run(self._mesh_cmd(self.mesh), self.mesh, log=self.log)))
        if "b" in scenarios:
            steps.append(("monolith", self.monolith))
        if "c" in scenarios:
            steps.append(("naive", self._naive_setup))
        for name, step in steps:
            print(f"warm-up: {name} ...", flush=True)
            ok, detail = step()
            if not ok:
                raise SystemExit(f"warm-up of {name} failed; see {self.log}\n{detail}")

    def _naive_setup(self) -> tuple[bool, str]:
        # Built once by mesh so that `mesh env` lists every upstream file to attach; the timed naive
        # runs build upstreams first, so those files exist again when each consumer starts.
        ok, detail = _run(self._mesh_cmd(self.naive), self.naive, log=self.log)
        if not ok:
            return ok, detail
        for d in self.spec.domains:
            done = subprocess.run([sys.executable, "-m", "mesh_cli", "env", d.name, "--project-dir", str(self.naive),
                                   "--format", "json"], capture_output=True, text=True, env=base_env())
            if done.returncode != 0:
                return False, f"mesh env {d.name}: {done.stderr.strip()}"
            self.naive_env[d.name] = json.loads(done.stdout)
        return True, ""

    # --- scenarios ---------------------------------------------------------------------------

    def _scratch(self, root: Path) -> None:
        _rm(Layout(root).base, *(p / sub for p in (root / "domains").iterdir() for sub in ("target", "logs")))

    def mesh_build(self, *extra: str) -> tuple[bool, str]:
        return _run(self._mesh_cmd(self.mesh, *extra), self.mesh, log=self.log)

    def monolith(self) -> tuple[bool, str]:
        (self.mono / "warehouse").mkdir(exist_ok=True)
        env = {**base_env(), PATH_ENV: str(self.mono / "warehouse" / "monolith.duckdb"), ATTACH_ENV: "[]"}
        return _run([DBT, "build", "--project-dir", str(self.mono), "--profiles-dir", str(self.mono / "profiles"),
                     "--threads", str(self.threads)], self.mono, env, self.log)

    def naive_build(self) -> tuple[bool, str]:
        for d in self.spec.domains:   # generated in topological order: refs only reach earlier domains
            folder = self.naive / "domains" / d.name
            ok, detail = _run([DBT, "build", "--project-dir", str(folder), "--profiles-dir", str(self.naive / "profiles"),
                               "--threads", str(self.threads)], folder, {**base_env(), **self.naive_env[d.name]}, self.log)
            if not ok:
                return False, f"{d.name}: {detail}"
            publish(self.naive, d.name, folder / "target")
        return True, ""

    def edit_root_and_leaf(self, round_: int) -> None:
        for domain in (self.spec.root_domain, self.spec.leaf_domain):
            path = self.mesh / "domains" / domain / "models" / "staging" / "stg_events_01.sql"
            path.write_text(path.read_text(encoding="utf-8") + f"-- edited by bench/compare.py, round {round_}\n",
                            encoding="utf-8")

    def run(self, scenario: str, round_: int) -> Measurement:
        """One timed run; clean-up and edits happen before the clock starts."""
        if scenario in "de" and not self.changed:
            return Measurement(scenario, round_, False, detail="n/a: mesh build has no --changed option")
        if scenario in "ag":
            self._scratch(self.mesh)
            return measure(scenario, round_, lambda: self.mesh_build(*(["--skip-checks"] if scenario == "g" else [])))
        if scenario == "b":
            _rm(self.mono / "warehouse", self.mono / "target", self.mono / "logs")
            return measure(scenario, round_, self.monolith)
        if scenario == "c":
            self._scratch(self.naive)
            (Layout(self.naive).base / "warehouse").mkdir(parents=True)
            return measure(scenario, round_, self.naive_build)
        if scenario == "d":
            return measure(scenario, round_, lambda: self.mesh_build("--changed"))
        self.edit_root_and_leaf(round_)
        return measure(scenario, round_, lambda: self.mesh_build("--changed"))


# --- report ----------------------------------------------------------------------------------

def _fmt(value: Optional[float], unit: str = "s", digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} {unit}".strip()


def summarise(results: list[Measurement]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for s in sorted({r.scenario for r in results}):
        ok = [r for r in results if r.scenario == s and r.ok]
        runs = [r for r in results if r.scenario == s]
        summary[s] = {"label": LABELS[s], "runs": len(runs), "ok": len(ok),
                      "wall_s": median([r.wall_s for r in ok]), "cpu_s": median([r.cpu_s for r in ok]),
                      "peak_rss_mb": median([r.peak_rss_mb for r in ok]), "peak_pss_mb": median([r.peak_pss_mb for r in ok]),
                      "note": next((r.detail for r in runs if not r.ok), "")}
    return summary


def _ratio(summary: dict[str, dict[str, Any]], a: str, b: str, key: str = "wall_s") -> Optional[float]:
    x, y = summary.get(a, {}).get(key), summary.get(b, {}).get(key)
    return x / y if x is not None and y else None


def markdown(meta: dict[str, Any], summary: dict[str, dict[str, Any]], plan: Optional[dict[str, Any]]) -> str:
    size = f"{meta['domains']} domains x {meta['models']} models" if summary else "planning only"
    lines = [f"#### Run of {meta['date']}: {size}, {meta['rounds']} rounds",
             "", f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}", ""]
    if summary:
        lines += ["| scenario | median wall | median CPU | median peak RSS (tree) | median peak PSS (tree) | ok runs |",
                  "|---|---|---|---|---|---|"]
        for s, row in summary.items():
            wall = _fmt(row["wall_s"], "s", 2) if row["ok"] else row["note"].split(":")[0]
            lines.append(f"| ({s}) {row['label']} | {wall} | {_fmt(row['cpu_s'])} | {_fmt(row['peak_rss_mb'], 'MB', 0)} | "
                         f"{_fmt(row['peak_pss_mb'], 'MB', 0)} | {row['ok']}/{row['runs']} |")
        checks = [("mesh / monolith, wall (target <= 1.1)", _ratio(summary, "a", "b"), lambda v: v <= 1.1),
                  ("naive / mesh, wall (target >= 3)", _ratio(summary, "c", "a"), lambda v: v >= 3),
                  ("mesh / monolith, peak RSS (target <= 2)", _ratio(summary, "a", "b", "peak_rss_mb"), lambda v: v <= 2),
                  ("no-op --changed, wall (target <= 1.5 s)", summary.get("d", {}).get("wall_s"), lambda v: v <= 1.5)]
        lines += ["", "| measure | value | target met |", "|---|---|---|"]
        for label, value, met in checks:
            lines.append(f"| {label} | {'n/a' if value is None else f'{value:.2f}'} | "
                         f"{'n/a' if value is None else 'yes' if met(value) else 'NO'} |")
    if plan:
        m = plan["median"]
        lines += ["", f"Planning (f), {plan['domains']} domains x {plan['models']} models, {plan['cross_domain_edges']} "
                      f"cross-domain edges, {plan['state_mb']} MB of synthetic state, median of {plan['rounds']}:", "",
                  "| Mesh.load | .graph | .plan(BuildOptions()) | in-process total (target <= 3 s) | `mesh ls` subprocess |",
                  "|---|---|---|---|---|",
                  f"| {m['load_s']:.2f} s | {m['graph_s']:.2f} s | {m['plan_s']:.2f} s | {m['total_s']:.2f} s "
                  f"({'yes' if m['total_s'] <= 3 else 'NO'}) | {m['ls_s']:.2f} s |"]
    return "\n".join(lines) + "\n"


BEGIN, END = "<!-- bench/compare.py results: begin -->", "<!-- bench/compare.py results: end -->"


def write_out(path: Path, text: str) -> None:
    """Replace the results block between the markers (the placeholder), else append a section."""
    doc = path.read_text(encoding="utf-8") if path.is_file() else ""
    if BEGIN in doc and END in doc:
        head, rest = doc.split(BEGIN, 1)
        doc = head + BEGIN + "\n" + text + END + rest.split(END, 1)[1]
    else:
        doc = doc.rstrip("\n") + "\n\n" + BEGIN + "\n" + text + END + "\n"
    path.write_text(doc, encoding="utf-8")


def _machine() -> str:
    cpus = os.cpu_count()
    try:
        mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())
        ram = f", {int(mem.group(1)) / 2**20:.0f} GiB" if mem else ""
    except OSError:
        ram = ""
    load = os.getloadavg()[0]
    return f"{cpus} cores{ram}, Python {platform.python_version()}, load average {load:.2f} at start"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domains", type=int, default=20)
    parser.add_argument("--models", type=int, default=20, help="models per domain (at least 4)")
    parser.add_argument("--rows", type=int, default=3000, help="rows of each domain's seed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="mesh build --workers")
    parser.add_argument("--threads", type=int, default=4, help="dbt threads, the same for every scenario")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scenarios", default="abcdef", help="letters to run (g is optional: --skip-checks)")
    parser.add_argument("--planning-domains", type=int, default=500)
    parser.add_argument("--planning-models", type=int, default=50)
    parser.add_argument("--workdir", type=Path, help="where to generate the meshes (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--out", type=Path, help="markdown file to write the results section into")
    parser.add_argument("--json-out", type=Path, help="raw results as JSON (default: bench/results/<time>.json)")
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(TIMED + "f")
    if unknown:
        parser.error(f"unknown scenarios {''.join(sorted(unknown))}; choose from {TIMED}f")
    command = "python bench/compare.py " + " ".join(sys.argv[1:])
    meta = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "domains": args.domains,
            "models": args.models, "rows": args.rows, "rounds": args.rounds, "workers": args.workers,
            "threads": args.threads, "seed": args.seed, "command": command, "machine": _machine()}
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mesh-bench-"))
    if work.exists() and any(work.iterdir()):
        parser.error(f"{work} is not empty; pass a new folder")
    work.mkdir(parents=True, exist_ok=True)
    results: list[Measurement] = []
    plan = None
    failed_early = True
    try:
        timed = [s for s in TIMED if s in args.scenarios]
        if timed:
            bench = Bench(make_spec(args.domains, args.models, args.seed, args.rows), work, args.workers, args.threads)
            bench.write()
            bench.warm_up(args.scenarios)
            for r in range(args.rounds):
                order = timed[r % len(timed):] + timed[:r % len(timed)]
                for s in order:
                    m = bench.run(s, r + 1)
                    results.append(m)
                    print(f"round {r + 1} ({s}) {LABELS[s]}: "
                          + (f"{m.wall_s:.2f} s, CPU {m.cpu_s:.1f} s, peak RSS {m.peak_rss_mb:.0f} MB" if m.ok else m.detail),
                          flush=True)
        if "f" in args.scenarios:
            print(f"planning: generating {args.planning_domains} x {args.planning_models} ...", flush=True)
            plan = planning.run(work / "planning", args.planning_domains, args.planning_models, max(args.rounds, 1), args.seed)
        failed_early = False
    finally:
        if failed_early:
            print(f"kept {work} to look into (bench.log has every command's output)", file=sys.stderr)
        elif not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    summary = summarise(results)
    text = markdown(meta, summary, plan)
    print("\n" + text)
    raw = {"meta": meta, "summary": summary, "runs": [r.to_dict() for r in results], "planning": plan}
    json_out = args.json_out or Path(__file__).parent / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(raw, indent=2), encoding="utf-8")
    print(f"raw results: {json_out}")
    if args.out:
        write_out(args.out, text)
        print(f"results written into {args.out}")
    failed = [r for r in results if not r.ok and not r.detail.startswith("n/a")]
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
