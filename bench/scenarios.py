"""The timed scenarios of bench/compare.py on one generated mesh shape (see docs/benchmarks.md).

One `Bench` per shape holds three copies of the same models: `mesh/` (scenarios a, d, e, g, h, j),
`naive/` (c) and `monolith/` (b, i). Every run leaves its copy built, so the next warm scenario on
that copy finds dbt's `target/` (with `partial_parse.msgpack`), `.mesh/` and the DuckDB files of
the run before; the cold scenarios remove them before the clock starts."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Callable, Optional

from common import DBT, base_env, mesh_cmd, mesh_env, probe_env, rm, run
from generate import MeshSpec, write_mesh, write_monolith
from measure import Measurement, measure

from mesh_cli.core.layout import ATTACH_ENV, PATH_ENV, Layout
from mesh_cli.state import noop_memo
from mesh_cli.state.interface import publish

TIMED = "abcdeghij"   # f (planning) is not per shape: compare.py runs it once
LABELS = {
    "a": "mesh build, cold (from scratch)",
    "b": "monolith dbt build, cold (from scratch)",
    "c": "naive: dbt build per domain, cold",
    "d": "mesh build --changed, nothing changed",
    "e": "mesh build --changed, root + leaf model edited",
    "g": "mesh build --skip-checks, cold",
    "h": "mesh build, warm (parse state kept)",
    "i": "monolith dbt build, warm (target/ kept)",
    "j": "mesh check alone, warm",
}
MESH_SCENARIOS = set("adeghj")


class Bench:
    def __init__(self, spec: MeshSpec, work: Path, workers: int, threads: int) -> None:
        self.spec, self.work, self.workers, self.threads = spec, work, workers, threads
        self.mesh, self.naive, self.mono = work / "mesh", work / "naive", work / "monolith"
        self.log = work / "bench.log"
        self.naive_env: dict[str, dict[str, str]] = {}
        self.changed = False
        self.probe_control = 0   # processes the probe saw import dbt during the warm-up build

    # --- setup -------------------------------------------------------------------------------

    def write(self) -> None:
        write_mesh(self.spec, self.mesh)
        write_mesh(self.spec, self.naive)
        write_monolith(self.spec, self.mono)

    def _build_cmd(self, root: Path, *extra: str) -> list[str]:
        return mesh_cmd(root, "build", "--workers", str(self.workers), "--threads", str(self.threads), *extra)

    def warm_up(self, scenarios: str) -> None:
        """Untimed: build each copy once; stop with the log's tail when any of them fails."""
        help_text = run_text(mesh_cmd(self.mesh, "build", "--help"))
        self.changed = "--changed" in help_text
        steps: list[tuple[str, Callable[[], tuple[bool, str]]]] = []
        if set(scenarios) & MESH_SCENARIOS:
            steps.append(("mesh", self._probed_build))
        if set(scenarios) & set("bi"):
            steps.append(("monolith", self.monolith))
        if "c" in scenarios:
            steps.append(("naive", self._naive_setup))
        for name, step in steps:
            print(f"warm-up ({self.spec.shape}): {name} ...", flush=True)
            ok, detail = step()
            if not ok:
                raise SystemExit(f"warm-up of {name} failed; see {self.log}\n{detail}")

    def _probed_build(self) -> tuple[bool, str]:
        # The control of scenario d's probe: a build that does run dbt must be seen importing it.
        log = self.work / "probe-warm-up.log"
        ok, detail = run(self._build_cmd(self.mesh), self.mesh, probe_env(log), self.log)
        self.probe_control = _lines(log)
        return ok, detail

    def _naive_setup(self) -> tuple[bool, str]:
        # Built once by mesh so that `mesh env` lists every upstream file to attach; the timed naive
        # runs build upstreams first, so those files exist again when each consumer starts.
        ok, detail = run(self._build_cmd(self.naive), self.naive, log=self.log)
        if not ok:
            return ok, detail
        try:
            self.naive_env = {d.name: mesh_env(self.naive, d.name) for d in self.spec.domains}
        except RuntimeError as error:
            return False, str(error)
        return True, ""

    # --- scenarios ---------------------------------------------------------------------------

    def _scratch(self, root: Path) -> None:
        rm(Layout(root).base, *(p / sub for p in (root / "domains").iterdir() for sub in ("target", "logs")))

    def mesh_build(self, *extra: str, env: Optional[dict[str, str]] = None) -> tuple[bool, str]:
        return run(self._build_cmd(self.mesh, *extra), self.mesh, env, self.log)

    def mesh_check(self) -> tuple[bool, str]:
        return run(mesh_cmd(self.mesh, "check"), self.mesh, log=self.log)

    def monolith(self) -> tuple[bool, str]:
        (self.mono / "warehouse").mkdir(exist_ok=True)
        env = {**base_env(), PATH_ENV: str(self.mono / "warehouse" / "monolith.duckdb"), ATTACH_ENV: "[]"}
        return run([DBT, "build", "--project-dir", str(self.mono), "--profiles-dir", str(self.mono / "profiles"),
                    "--threads", str(self.threads)], self.mono, env, self.log)

    def naive_build(self) -> tuple[bool, str]:
        for d in self.spec.domains:   # generated in topological order: refs only reach earlier domains
            folder = self.naive / "domains" / d.name
            ok, detail = run([DBT, "build", "--project-dir", str(folder), "--profiles-dir", str(self.naive / "profiles"),
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

    def built_domains(self, since: float) -> Optional[int]:
        """Domains the build reports built (.mesh/run_results.json, if written since `since`), else None."""
        path = Layout(self.mesh).base / "run_results.json"
        try:
            if path.stat().st_mtime < since:   # left by an earlier run: says nothing about this one
                return None
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        domains = data.get("domains", data.get("results", []))
        rows = domains.values() if isinstance(domains, dict) else domains
        return sum(1 for r in rows if isinstance(r, dict) and r.get("status") in ("success", "ok"))

    def run(self, scenario: str, round_: int) -> Measurement:
        """One timed run; clean-up and edits happen before the clock starts."""
        began = time.time()
        if scenario in "de" and not self.changed:
            return Measurement(scenario, round_, False, detail="n/a: mesh build has no --changed option")
        if scenario in "ag":
            self._scratch(self.mesh)
            m = measure(scenario, round_, lambda: self.mesh_build(*(["--skip-checks"] if scenario == "g" else [])))
        elif scenario == "h":   # warm: the previous run's target/, .mesh/ and DuckDB files stay
            m = measure(scenario, round_, self.mesh_build)
        elif scenario == "b":
            rm(self.mono / "warehouse", self.mono / "target", self.mono / "logs")
            return measure(scenario, round_, self.monolith)
        elif scenario == "i":
            return measure(scenario, round_, self.monolith)
        elif scenario == "c":
            self._scratch(self.naive)
            (Layout(self.naive).base / "warehouse").mkdir(parents=True)
            return measure(scenario, round_, self.naive_build)
        elif scenario == "j":
            return measure(scenario, round_, self.mesh_check)
        elif scenario == "d":
            return self._no_op(round_)
        else:
            self.edit_root_and_leaf(round_)
            return measure(scenario, round_, lambda: self.mesh_build("--changed"))
        m.notes["domains_built"] = self.built_domains(began)   # a and h must rebuild every domain
        return m

    def _no_op(self, round_: int) -> Measurement:
        # Timed under the import probe (bench/probe/sitecustomize.py, one function call per import):
        # the process measured is the process checked, workers included if it started any.
        log = self.work / f"probe-d-{round_}.log"
        env = probe_env(log)
        # "Nothing changed" must hold whatever ran before (a failed run leaves domains stale): an
        # untimed --changed build first, the same command, which leaves the no-op memo the timed
        # one is answered from. It starts past the memo's clock guard: a file written in the last
        # 2 s (by the scenario before) is not trusted, and the memo would not be used.
        time.sleep(noop_memo._SAFE_NS / 1e9 + 0.2)
        self.mesh_build("--changed", env=env)
        rm(log)
        m = measure("d", round_, lambda: self.mesh_build("--changed", env=env))
        m.notes["dbt_importers"] = _lines(log)
        # The first no-op after a change answers without its memo: timed too, for the record.
        rm(Layout(self.mesh).noop_memo)
        full = measure("d", round_, lambda: self.mesh_build("--changed", env=env))
        m.notes["without_memo_s"] = round(full.wall_s, 2) if full.ok else full.detail
        m.notes["dbt_importers"] += _lines(log)
        return m


def run_text(cmd: list[str]) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, env=base_env()).stdout


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) if path.is_file() else 0

