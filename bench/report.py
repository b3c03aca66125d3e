"""bench/compare.py's summary: medians per shape and scenario, and issue 12's targets."""
from __future__ import annotations

from typing import Any, Callable, Optional

from measure import Measurement, median
from scenarios import LABELS

Summary = dict[str, dict[str, Any]]   # scenario letter -> medians and counts


def summarise(results: list[Measurement]) -> Summary:
    summary: Summary = {}
    for s in sorted({r.scenario for r in results}):
        runs = [r for r in results if r.scenario == s]
        ok = [r for r in runs if r.ok]
        importers = [r.notes["dbt_importers"] for r in ok if "dbt_importers" in r.notes]
        built = [r.notes["domains_built"] for r in ok if r.notes.get("domains_built") is not None]
        unmemoised = [r.notes["without_memo_s"] for r in ok if isinstance(r.notes.get("without_memo_s"), float)]
        summary[s] = {"label": LABELS[s], "runs": len(runs), "ok": len(ok),
                      "wall_s": median([r.wall_s for r in ok]), "cpu_s": median([r.cpu_s for r in ok]),
                      "peak_rss_mb": median([r.peak_rss_mb for r in ok]), "peak_pss_mb": median([r.peak_pss_mb for r in ok]),
                      "dbt_importers_max": max(importers) if importers else None,
                      "domains_built_min": min(built) if built else None,
                      "without_memo_s": median(unmemoised),
                      "note": next((r.detail for r in runs if not r.ok), "")}
    return summary


def _ratio(summary: Summary, a: str, b: str, key: str = "wall_s") -> Optional[float]:
    x, y = summary.get(a, {}).get(key), summary.get(b, {}).get(key)
    return x / y if x is not None and y else None


def _fmt(value: Optional[float], unit: str = "s", digits: int = 1) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} {unit}".strip()


Target = tuple[str, str, Optional[float], str, Callable[[float], bool]]   # label, scenarios, value, shown, holds


def targets(summary: Summary) -> list[Target]:
    """Issue 12's targets, each as a ratio (or value) of this shape's medians."""
    importers = summary.get("d", {}).get("dbt_importers_max")
    return [
        ("warm `mesh build` / warm monolith `dbt build` (h / i), wall", "hi", _ratio(summary, "h", "i"), "<= 0.8", lambda v: v <= 0.8),
        ("cold `mesh build` / cold monolith `dbt build` (a / b), wall", "ab", _ratio(summary, "a", "b"), "<= 1.0", lambda v: v <= 1.0),
        ("naive loop / `mesh build`, cold (c / a), wall", "ac", _ratio(summary, "c", "a"), ">= 4", lambda v: v >= 4),
        ("warm `mesh check` / warm monolith `dbt build` (j / i), wall", "ij", _ratio(summary, "j", "i"), "<= 0.3", lambda v: v <= 0.3),
        ("no-op `mesh build --changed` (d), wall in s", "d", summary.get("d", {}).get("wall_s"), "<= 0.5 s", lambda v: v <= 0.5),
        ("no-op without its memo (d, the first after a change; for information), wall in s", "d",
         summary.get("d", {}).get("without_memo_s"), "-", lambda v: True),
        ("no-op (d): processes that imported dbt (most in a round)", "d", None if importers is None else float(importers),
         "0", lambda v: v == 0),
        ("peak RSS of the process tree, cold mesh / monolith (a / b)", "ab", _ratio(summary, "a", "b", "peak_rss_mb"), "<= 2",
         lambda v: v <= 2),
        ("peak RSS of the process tree, warm mesh / monolith (h / i)", "hi", _ratio(summary, "h", "i", "peak_rss_mb"), "<= 2",
         lambda v: v <= 2),
    ]


def shape_markdown(shape: dict[str, Any], summary: Summary) -> list[str]:
    lines = [f"##### {shape['shape']}: {shape['domains']} domains x {shape['models']} models, "
             f"{shape['edges']} cross-domain dependencies, depth {shape['depth']} domains", "",
             "| scenario | median wall | median CPU | median peak RSS (tree) | median peak PSS (tree) | ok runs |",
             "|---|---|---|---|---|---|"]
    for s, row in summary.items():
        wall = _fmt(row["wall_s"], "s", 2) if row["ok"] else row["note"].split(":")[0]
        lines.append(f"| ({s}) {row['label']} | {wall} | {_fmt(row['cpu_s'])} | {_fmt(row['peak_rss_mb'], 'MB', 0)} | "
                     f"{_fmt(row['peak_pss_mb'], 'MB', 0)} | {row['ok']}/{row['runs']} |")
    lines += ["", "| target | measured | target value | holds |", "|---|---|---|---|"]
    for label, letters, value, shown, holds in targets(summary):
        measured = "n/a" if value is None else f"{value:.0f}" if "imported" in label else f"{value:.2f}"
        verdict = "n/a" if value is None else "-" if shown == "-" else "yes" if holds(value) else "NO"
        failed = [s for s in letters if s in summary and summary[s]["ok"] < summary[s]["runs"]]
        if failed and value is not None:   # a median of the runs that passed only: say so
            verdict += f" (runs of {', '.join(failed)} failed)"
        lines.append(f"| {label} | {measured} | {shown} | {verdict} |")
    checks = []
    for s in "ah":
        built = summary.get(s, {}).get("domains_built_min")
        if built is not None:
            checks.append(f"({s}) reported {built} of {shape['domains']} domains built in its fewest round")
    if checks:
        lines += ["", "Checks: " + "; ".join(checks) + "."]
    return lines


def markdown(meta: dict[str, Any], shapes: list[tuple[dict[str, Any], Summary]], plan: Optional[dict[str, Any]],
             probe_control: dict[str, int]) -> str:
    sizes = ", ".join(f"{s['shape']} {s['domains']} x {s['models']}" for s, _ in shapes) or "planning only"
    lines = [f"#### Run of {meta['date']}: {sizes}, {meta['rounds']} rounds", "",
             f"Command: `{meta['command']}`  ", f"Machine: {meta['machine']}", ""]
    for shape, summary in shapes:
        lines += shape_markdown(shape, summary) + [""]
    if probe_control:
        lines += ["Import probe control: the untimed warm-up `mesh build` under the same probe saw dbt imported in "
                  + ", ".join(f"{n} processes ({s})" for s, n in probe_control.items())
                  + " (0 would mean the probe is blind).", ""]
    if plan:
        m = plan["median"]
        lines += [f"Planning (f), {plan['domains']} domains x {plan['models']} models, {plan['cross_domain_edges']} "
                  f"cross-domain edges, {plan['state_mb']} MB of synthetic state, median of {plan['rounds']}:", "",
                  "| Mesh.load | .graph | .plan(BuildOptions()) | in-process total (target <= 3 s) | `mesh ls` subprocess |",
                  "|---|---|---|---|---|",
                  f"| {m['load_s']:.2f} s | {m['graph_s']:.2f} s | {m['plan_s']:.2f} s | {m['total_s']:.2f} s "
                  f"({'yes' if m['total_s'] <= 3 else 'NO'}) | {m['ls_s']:.2f} s |", ""]
    return "\n".join(lines).rstrip("\n") + "\n"
