"""Cost that does not grow with the data (issue 12, item 5): mesh's overhead over plain `dbt build`
on a domain whose DuckDB file is about 1 GB.

    python bench/large.py --rounds 3 --out docs/benchmarks.md

Generates a mesh of two domains: `big`, whose DuckDB file holds a raw table loaded outside dbt (as
an EL tool would: `raw.events`, created once with DuckDB SQL from `range(N)`, ~29 bytes a row on
disk, so the default 36 M rows make about 1 GB) with staging views, two aggregate tables and one
public contracted mart on top; and `small`, which reads that mart. After an untimed `mesh build`,
each round runs, in an order rotated by the round:
  s  `mesh build --select big` (mesh check included): a full build of that domain
  k  `mesh build --select big --skip-checks`
  e  `mesh build --changed` after appending a comment to one staging model of `big`
  p  plain `dbt build` in domains/big, by hand as the README says: the environment `mesh env big
     --format json` prints (asked before each run, untimed) and `--profiles-dir` the mesh's profiles/
  q  the same plain `dbt build` after the same kind of edit as e: what dbt alone needs for e's work
     (a changed file makes dbt's partial parse read it again)
The overhead of s and k is over p, that of e over q (like for like); e over p is shown beside it.
Every run is warm (dbt's target/, .mesh/ and the DuckDB files of the run before are kept). Besides
wall, CPU and memory, a thread samples the disk usage of the warehouse folder every 0.1 s and lists
every file that appears in it: a build that copies the 1 GB file shows a second large file and a
peak near twice the size."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import duckdb

from common import dbt_by_hand, machine, mesh_cmd, mesh_env, rm, run, write_out
from measure import DiskSampler, Measurement, disk_usage, measure, median

from mesh_cli.core.layout import PATH_ENV

REPO = Path(__file__).resolve().parent.parent
LABELS = {"s": "mesh build --select big (check included)", "k": "mesh build --select big --skip-checks",
          "e": "mesh build --changed, one model of big edited", "p": "plain dbt build of big (mesh env, by hand)",
          "q": "plain dbt build of big, one model edited as in (e)"}
SCENARIOS = "skepq"
BASELINE = {"s": "p", "k": "p", "e": "q"}   # each mesh scenario against plain dbt doing the same work
BYTES_PER_ROW = 29   # measured: DuckDB 2.0 stores a row of raw.events in about 29 bytes
CONTRACT = (("customer_id", "integer"), ("n_events", "bigint"), ("total_amount", "double"), ("avg_amount", "double"),
            ("n_categories", "bigint"), ("last_event_date", "date"), ("segment", "varchar"))

BIG_MODELS = {
    "staging/stg_events.sql": "select event_id, customer_id, category, amount, event_ts,\n"
                              "    cast(event_ts as date) as event_date\nfrom {{ source('raw', 'events') }}\nwhere amount > 0\n",
    "staging/stg_payloads.sql": "select event_id, payload, length(payload) as payload_length\n"
                                "from {{ source('raw', 'events') }}\nwhere payload is not null\n",
    "intermediate/int_daily_category.sql": "{{ config(materialized='table') }}\n"
                                           "select event_date, category, count(*) as n_events, sum(amount) as total_amount\n"
                                           "from {{ ref('stg_events') }}\ngroup by event_date, category\n",
    "intermediate/int_customer_totals.sql": "{{ config(materialized='table') }}\n"
                                            "select customer_id, count(*) as n_events, sum(amount) as total_amount,\n"
                                            "    avg(amount) as avg_amount, count(distinct category) as n_categories,\n"
                                            "    max(event_date) as last_event_date\n"
                                            "from {{ ref('stg_events') }}\ngroup by customer_id\n",
    "marts/fct_customer_summary.sql": "{{ config(materialized='table') }}\n"
                                      "select cast(customer_id as integer) as customer_id, cast(n_events as bigint) as n_events,\n"
                                      "    cast(total_amount as double) as total_amount, cast(avg_amount as double) as avg_amount,\n"
                                      "    cast(n_categories as bigint) as n_categories,\n"
                                      "    cast(last_event_date as date) as last_event_date,\n"
                                      "    cast(case ntile(4) over (order by total_amount desc, customer_id) when 1 then 'gold'\n"
                                      "        when 2 then 'silver' else 'bronze' end as varchar) as segment\n"
                                      "from {{ ref('int_customer_totals') }}\n",
}
EDITED = "staging/stg_events.sql"
DATABASE_FILES = ("big.duckdb", "big.duckdb.wal", "small.duckdb", "small.duckdb.wal")


def _big_schema() -> str:
    cols = "".join(f"      - name: {c}\n        data_type: {t}\n        description: {c.replace('_', ' ')}.\n"
                   + ("        data_tests: [unique, not_null]\n" if c == "customer_id" else "") for c, t in CONTRACT)
    return ("version: 2\nsources:\n  - name: raw\n    schema: raw\n    description: Loaded by an EL tool, not by dbt.\n"
            "    tables:\n      - name: events\n"
            "groups:\n  - name: big_team\n    owner: {name: Team big, email: big@bench.example}\n"
            "models:\n  - name: stg_events\n    columns:\n      - name: event_id\n        data_tests: [not_null]\n"
            "  - name: fct_customer_summary\n    description: Customer metrics over every event.\n"
            "    access: public\n    group: big_team\n    config:\n      contract: {enforced: true}\n"
            "    columns:\n" + cols)


def write_large_mesh(root: Path) -> Path:
    (root / "profiles").mkdir(parents=True)
    shutil.copy(REPO / "profiles" / "profiles.yml", root / "profiles" / "profiles.yml")
    (root / "mesh.yml").write_text("name: large\ndomain_paths: ['domains/*']\nprofile: mesh\ndomains:\n"
                                   "  big:\n    owner: {team: Team big, email: big@bench.example}\n"
                                   "  small:\n    owner: {team: Team small, email: small@bench.example}\n", encoding="utf-8")
    for name in ("big", "small"):
        folder = root / "domains" / name
        (folder / "models").mkdir(parents=True)
        (folder / "dbt_project.yml").write_text(f"name: {name}\nprofile: mesh\nversion: '1.0'\nconfig-version: 2\n",
                                                encoding="utf-8")
    big = root / "domains" / "big" / "models"
    for rel, sql in BIG_MODELS.items():
        (big / rel).parent.mkdir(exist_ok=True)
        (big / rel).write_text(sql, encoding="utf-8")
    (big / "_models.yml").write_text(_big_schema(), encoding="utf-8")
    small = root / "domains" / "small"
    (small / "dependencies.yml").write_text("projects:\n  - name: big\n", encoding="utf-8")
    (small / "models" / "fct_segment_counts.sql").write_text(
        "{{ config(materialized='table') }}\nselect segment, count(*) as n_customers, sum(total_amount) as total_amount\n"
        "from {{ ref('big', 'fct_customer_summary') }}\ngroup by segment\n", encoding="utf-8")
    (small / "models" / "_models.yml").write_text(
        "version: 2\nmodels:\n  - name: fct_segment_counts\n    columns:\n      - name: segment\n"
        "        data_tests: [unique, not_null]\n", encoding="utf-8")
    return root


def load_raw(path: Path, rows: int) -> float:
    """Create raw.events in the domain's own DuckDB file, as an EL tool would; seconds taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists raw")
        # hash() spreads keys and amounts deterministically; md5 payloads are what makes it big (they
        # hardly compress, like the free text or JSON of real event tables).
        con.execute(f"""create or replace table raw.events as
            select i as event_id,
                   cast(hash(i) % 200000 as integer) + 1 as customer_id,
                   (['books', 'games', 'garden', 'music', 'sports', 'tools'])[cast(hash(i * 7) % 6 as integer) + 1] as category,
                   round((hash(i * 13) % 50000) / 100.0, 2) as amount,
                   timestamp '2024-01-01' + to_seconds(cast(hash(i * 31) % 31536000 as bigint)) as event_ts,
                   md5(cast(i as varchar)) as payload
            from range({rows}) t(i)""")
        con.execute("checkpoint")
    finally:
        con.close()
    return time.perf_counter() - began


class Large:
    def __init__(self, root: Path, threads: int, workers: int) -> None:
        self.root, self.threads, self.workers = root, threads, workers
        self.log = root.parent / "bench.log"
        self.env_changes = 0
        self._env: dict[str, str] = {}
        self._last_env: Optional[dict[str, str]] = None

    def build(self, *extra: str) -> tuple[bool, str]:
        return run(mesh_cmd(self.root, "build", "--workers", str(self.workers), "--threads", str(self.threads), *extra),
                   self.root, log=self.log)

    def by_hand(self) -> tuple[bool, str]:
        return dbt_by_hand(self.root, "big", self._env, self.threads, self.log)

    def run(self, scenario: str, round_: int, warehouse: Path) -> Measurement:
        if scenario in ("e", "q"):   # the edit happens before the clock starts
            path = self.root / "domains" / "big" / "models" / EDITED
            path.write_text(path.read_text(encoding="utf-8") + f"-- edited by bench/large.py, round {round_} ({scenario})\n",
                            encoding="utf-8")
        if scenario in ("p", "q"):
            self._env = mesh_env(self.root, "big")
            self.env_changes += self._last_env is not None and self._env != self._last_env
            self._last_env = self._env
        body = {"s": lambda: self.build("--select", "big"), "k": lambda: self.build("--select", "big", "--skip-checks"),
                "e": lambda: self.build("--changed"), "p": self.by_hand, "q": self.by_hand}[scenario]
        with DiskSampler(warehouse) as disk:
            m = measure(scenario, round_, body)
        m.notes.update({"disk_before_mb": round(disk.before / 2**20), "disk_peak_mb": round(disk.peak / 2**20),
                        # The databases and their write-ahead logs are not copies; anything else large may be.
                        "other_large_files": sorted(n for n, size in disk.seen.items()
                                                    if size > 2**20 and n not in DATABASE_FILES)})
        return m


def summarise(results: list[Measurement]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for s in SCENARIOS:
        ok = [r for r in results if r.scenario == s and r.ok]
        runs = [r for r in results if r.scenario == s]
        if not runs:
            continue
        out[s] = {"label": LABELS[s], "ok": len(ok), "runs": len(runs), "wall_s": median([r.wall_s for r in ok]),
                  "cpu_s": median([r.cpu_s for r in ok]), "peak_rss_mb": median([r.peak_rss_mb for r in ok]),
                  "disk_peak_mb": max((r.notes["disk_peak_mb"] for r in ok), default=None),
                  "other_large_files": sorted({f for r in ok for f in r.notes["other_large_files"]}),
                  "note": next((r.detail for r in runs if not r.ok), "")}
    return out


def _fmt(value: Optional[float], unit: str, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} {unit}"


def _overhead(s: str, wall: Optional[float], summary: dict[str, dict[str, Any]]) -> str:
    """`s`'s overhead over its baseline, judged against the target; e's over p too, for information."""
    def over(base: str) -> Optional[float]:
        b = summary.get(base, {}).get("wall_s")
        return None if not b or wall is None else 100 * (wall - b) / b
    if s not in BASELINE or over(BASELINE[s]) is None:
        return ""
    main = over(BASELINE[s])
    text = f"{main:+.1f} % over ({BASELINE[s]}) ({'yes' if main < 10 else 'NO'})"
    extra = over("p") if BASELINE[s] != "p" else None
    return text + (f"; {extra:+.1f} % over (p)" if extra is not None else "")


def markdown(meta: dict[str, Any], summary: dict[str, dict[str, Any]]) -> str:
    lines = [f"#### Run of {meta['date']}: {meta['rows']:,} raw rows, {meta['rounds']} rounds", "",
             f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}", "",
             f"`big.duckdb`: {meta['file_mb_before']:.0f} MB on disk after loading raw.events ({meta['load_s']:.0f} s), "
             f"{meta['file_mb_after']:.0f} MB after the run; `mesh env big` changed between rounds: "
             f"{'yes' if meta['env_changes'] else 'no'}.", "",
             "| scenario | median wall | overhead over plain dbt doing the same (target < 10 %) | median CPU | "
             "median peak RSS (tree) | peak disk of the warehouse folder | other files > 1 MB seen there | ok runs |",
             "|---|---|---|---|---|---|---|---|"]
    for s, row in summary.items():
        over = _overhead(s, row["wall_s"], summary)
        wall = f"{row['wall_s']:.2f} s" if row["wall_s"] is not None else row["note"].split(":")[0]
        lines.append(f"| ({s}) {row['label']} | {wall} | {over} | "
                     f"{_fmt(row['cpu_s'], 's', 1)} | {_fmt(row['peak_rss_mb'], 'MB')} | {_fmt(row['disk_peak_mb'], 'MB')} | "
                     f"{', '.join(f'`{f}`' for f in row['other_large_files']) or 'none'} | {row['ok']}/{row['runs']} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=36_000_000,
                        help=f"rows of raw.events (about {BYTES_PER_ROW} bytes each on disk; 1,800,000 make ~50 MB)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=4, help="dbt threads, mesh and by hand alike")
    parser.add_argument("--workers", type=int, default=2, help="mesh build --workers")
    parser.add_argument("--scenarios", default=SCENARIOS, help=f"letters to run, of {SCENARIOS}")
    parser.add_argument("--workdir", type=Path, help="where to generate the mesh (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--out", type=Path, help="markdown file to write the results section into")
    parser.add_argument("--json-out", type=Path, help="raw results as JSON (default: bench/results/large-<time>.json)")
    args = parser.parse_args()
    if set(args.scenarios) - set(SCENARIOS):
        parser.error(f"unknown scenarios in {args.scenarios!r}; choose from {SCENARIOS}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mesh-large-"))
    if work.exists() and any(work.iterdir()):
        parser.error(f"{work} is not empty; pass a new folder")
    meta: dict[str, Any] = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "rows": args.rows,
                            "rounds": args.rounds, "command": "python bench/large.py " + " ".join(sys.argv[1:]),
                            "machine": machine()}
    root = write_large_mesh(work / "mesh")
    results: list[Measurement] = []
    kept = True
    try:
        db = Path(mesh_env(root, "big")[PATH_ENV])   # where the mesh's profile puts big's database
        meta["load_s"] = load_raw(db, args.rows)
        meta["file_mb_before"] = disk_usage(db.parent)[0] / 2**20
        print(f"loaded raw.events: {args.rows:,} rows, {meta['file_mb_before']:.0f} MB in {db} "
              f"({meta['load_s']:.0f} s)", flush=True)
        bench = Large(root, args.threads, args.workers)
        print("warm-up: mesh build ...", flush=True)
        ok, detail = bench.build()
        if not ok:
            raise SystemExit(f"warm-up build failed; see {bench.log}\n{detail}")
        order = [s for s in SCENARIOS if s in args.scenarios]
        for r in range(args.rounds):
            for s in order[r % len(order):] + order[:r % len(order)]:
                m = bench.run(s, r + 1, db.parent)
                results.append(m)
                print(f"round {r + 1} ({s}) {LABELS[s]}: " + (
                    f"{m.wall_s:.2f} s, CPU {m.cpu_s:.1f} s, peak RSS {m.peak_rss_mb:.0f} MB, warehouse disk "
                    f"{m.notes['disk_before_mb']} -> peak {m.notes['disk_peak_mb']} MB, other large files: "
                    f"{m.notes['other_large_files'] or 'none'}" if m.ok else m.detail), flush=True)
        meta["file_mb_after"] = db.stat().st_blocks * 512 / 2**20
        meta["env_changes"] = bench.env_changes
        kept = args.keep
    finally:
        if kept:
            print(f"kept {work} (bench.log has every command's output)", file=sys.stderr)
        else:
            rm(work)
    summary = summarise(results)
    text = markdown(meta, summary)
    print("\n" + text)
    json_out = args.json_out or Path(__file__).parent / "results" / f"large-{time.strftime('%Y%m%d-%H%M%S')}.json"
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps({"meta": meta, "summary": summary, "runs": [m.to_dict() for m in results]}, indent=2),
                        encoding="utf-8")
    print(f"raw results: {json_out}")
    if args.out:
        write_out(args.out, text, name="bench/large.py")
        print(f"results written into {args.out}")
    sys.exit(1 if any(not m.ok for m in results) else 0)


if __name__ == "__main__":
    main()
