"""Is mesh fast? The same synthetic models built several ways, cold and warm, on two mesh shapes,
interleaved, plus planning at scale: the benchmark of issue 12's targets.

    python bench/compare.py --rounds 3 --workers 2 --out docs/benchmarks.md

runs the deep shape at 20 x 20 and the wide shape at 50 x 8 (3 roots) in one interleaved run.

Scenarios (letters as in docs/benchmarks.md), on each shape:
  a  `mesh build`, cold: no warehouse, no .mesh/ state, no dbt target/ (dbt parses everything)
  b  `dbt build` of the monolithic project holding the same models, cold, same --threads
  c  naive: one `dbt build` subprocess per domain in topological order, cold, each with the
     environment `mesh env <domain> --format json` prints and the mesh's profiles/; after each domain
     its manifest is published to .mesh/state/ so the next domain's refs resolve
  d  `mesh build --changed` with nothing changed, under an import probe that logs every process
     importing dbt (bench/probe/sitecustomize.py)
  e  `mesh build --changed` after editing one model of the root domain and one of a leaf domain
  g  (optional) `mesh build --skip-checks`, cold: (a) without `mesh check` first
  h  `mesh build`, warm: everything rebuilt, parse state kept (.mesh/, target/, DuckDB files of the
     run before)
  i  `dbt build` of the monolith, warm (target/ and its DuckDB file kept)
  j  `mesh check` alone, warm
  f  once, not per shape: planning a 500 x 50 mesh from synthetic manifests, no dbt: Mesh.load +
     graph + plan in this process, and `mesh ls` as a subprocess (see bench/planning.py)

Rounds are interleaved so machine drift hits every scenario alike: round r runs the shapes in an
order rotated by r, and each shape's scenarios in an order rotated by r. Before the rounds an
untimed warm-up builds each copy once (it proves the generated projects build, gives `mesh env` its
upstream files, and leaves the warm scenarios a built mesh)."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from common import machine, write_out
from generate import SHAPES, make_spec
from measure import Measurement
from report import markdown, summarise
from scenarios import LABELS, TIMED, Bench

DEFAULT_SCENARIOS = "abcdefhij"


def _say(shape: str, m: Measurement) -> None:
    extra = "".join(f", {k} {v}" for k, v in m.notes.items())
    print(f"round {m.round} [{shape}] ({m.scenario}) {LABELS[m.scenario]}: "
          + (f"{m.wall_s:.2f} s, CPU {m.cpu_s:.1f} s, peak RSS {m.peak_rss_mb:.0f} MB{extra}" if m.ok else m.detail),
          flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shapes", default="deep,wide", help="mesh shapes to run, comma-separated (deep, wide)")
    parser.add_argument("--domains", type=int, default=20, help="domains of the deep shape")
    parser.add_argument("--models", type=int, default=20, help="models per domain of the deep shape (at least 4)")
    parser.add_argument("--wide-domains", type=int, default=50, help="domains of the wide shape")
    parser.add_argument("--wide-models", type=int, default=8, help="models per domain of the wide shape (at least 4)")
    parser.add_argument("--roots", type=int, default=3, help="root domains of the wide shape")
    parser.add_argument("--rows", type=int, default=3000, help="rows of each domain's seed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="mesh build --workers")
    parser.add_argument("--threads", type=int, default=4, help="dbt threads, the same for every scenario")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scenarios", default=DEFAULT_SCENARIOS, help="letters to run (g is optional: --skip-checks)")
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
    args.shape_list = [s.strip() for s in args.shapes.split(",") if s.strip()]
    if set(args.shape_list) - set(SHAPES):
        parser.error(f"unknown shapes in {args.shapes!r}; choose from {', '.join(SHAPES)}")
    return args


def main() -> None:
    args = parse_args()
    command = "python bench/compare.py " + " ".join(sys.argv[1:])
    meta = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "rows": args.rows,
            "rounds": args.rounds, "workers": args.workers, "threads": args.threads, "seed": args.seed,
            "command": command, "machine": machine()}
    work = args.workdir or Path(tempfile.mkdtemp(prefix="mesh-bench-"))
    if work.exists() and any(work.iterdir()):
        sys.exit(f"{work} is not empty; pass a new folder")
    work.mkdir(parents=True, exist_ok=True)
    timed = [s for s in TIMED if s in args.scenarios]
    sizes = {"deep": (args.domains, args.models), "wide": (args.wide_domains, args.wide_models)}
    benches: dict[str, Bench] = {}
    results: dict[str, list[Measurement]] = {}
    plan = None
    plan_error = ""
    failed_early = True
    try:
        if timed:
            for shape in args.shape_list:
                spec = make_spec(*sizes[shape], args.seed, args.rows, shape, args.roots)
                print(f"{shape}: {len(spec.domains)} domains x {sizes[shape][1]} models, "
                      f"{sum(len(d.upstreams) for d in spec.domains)} cross-domain dependencies, "
                      f"depth of the domain graph {spec.depth} domains", flush=True)
                (work / shape).mkdir()
                benches[shape] = Bench(spec, work / shape, args.workers, args.threads)
                benches[shape].write()
                benches[shape].warm_up(args.scenarios)
                results[shape] = []
            for r in range(args.rounds):
                shapes = args.shape_list[r % len(args.shape_list):] + args.shape_list[:r % len(args.shape_list)]
                for shape in shapes:
                    for s in timed[r % len(timed):] + timed[:r % len(timed)]:
                        m = benches[shape].run(s, r + 1)
                        results[shape].append(m)
                        _say(shape, m)
        if "f" in args.scenarios:
            print(f"planning: generating {args.planning_domains} x {args.planning_models} ...", flush=True)
            try:   # a failure here must not lose the builds' results above
                import planning   # here: it imports mesh's internals, which the other scenarios never need
                plan = planning.run(work / "planning", args.planning_domains, args.planning_models,
                                    max(args.rounds, 1), args.seed)
            except Exception as error:   # noqa: BLE001 - reported, and the run exits 1
                print(f"planning (f) failed: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                plan_error = f"{type(error).__name__}: {error}"
        failed_early = False
    finally:
        if failed_early:
            print(f"kept {work} to look into (each shape's bench.log has every command's output)", file=sys.stderr)
        elif not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    shape_rows: list[tuple[dict[str, Any], Any]] = []
    for shape, bench in benches.items():
        info = {"shape": shape, "domains": len(bench.spec.domains), "models": sizes[shape][1], "depth": bench.spec.depth,
                "edges": sum(len(d.upstreams) for d in bench.spec.domains),
                "roots": sum(1 for d in bench.spec.domains if not d.upstreams)}
        shape_rows.append((info, summarise(results[shape])))
    text = markdown(meta, shape_rows, plan, {s: b.probe_control for s, b in benches.items()})
    if plan_error:
        text += f"\nPlanning (f) failed: {plan_error}\n"
    print("\n" + text)
    raw = {"meta": meta, "planning": plan, "planning_error": plan_error,
           "shapes": {info["shape"]: {**info, "summary": summary, "runs": [m.to_dict() for m in results[info["shape"]]]}
                      for info, summary in shape_rows}}
    json_out = args.json_out or Path(__file__).parent / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}.json"
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(raw, indent=2), encoding="utf-8")
    print(f"raw results: {json_out}")
    if args.out:
        write_out(args.out, text)
        print(f"results written into {args.out}")
    failed = [m for ms in results.values() for m in ms if not m.ok and not m.detail.startswith("n/a")]
    sys.exit(1 if failed or plan_error else 0)


if __name__ == "__main__":
    main()
