"""Text, JSON, DOT and Mermaid renderings of result objects. Pure: returns strings."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mesh_cli.core.status import DomainStatus as S
from mesh_cli.core.results import BuildResult, DomainResult
from mesh_cli.governance.findings import CheckReport
from mesh_cli.project.graph import MeshGraph
from mesh_cli.app import DomainInfo
from mesh_cli.governance.rules import RULES

_KINDS = ("seed", "model", "snapshot", "test", "unit_test")


def counts_text(counts: dict[str, dict[str, int]]) -> str:
    parts = []
    for kind in (*_KINDS, *sorted(set(counts) - set(_KINDS))):
        statuses = counts.get(kind)
        if not statuses:
            continue
        total = sum(statuses.values())
        label = f"{total} {kind.replace('_', ' ')}{'s' if total != 1 else ''}"
        bad = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()) if s != "ok")
        parts.append(f"{label} ({bad})" if bad else label)
    return ", ".join(parts) or "nothing ran"


STATUS_LABEL = {S.SUCCESS: ("OK", "green"), S.ERROR: ("ERROR", "red"), S.SKIPPED: ("SKIP", "yellow"),
                S.CANCELLED: ("STOP", "magenta"), S.UNCHANGED: ("FRESH", "cyan")}


def domain_line(result: DomainResult, width: int = 12) -> tuple[str, str, str]:
    """(label, colour, rest) for one finished domain."""
    label, colour = STATUS_LABEL[result.status]
    if result.status in (S.SKIPPED, S.UNCHANGED) or (result.status == S.CANCELLED and result.started_at is None):
        rest = f"{result.domain:<{width}} {result.message}"
    elif result.status == S.CANCELLED:
        rest = f"{result.domain:<{width}} {result.message}  [{result.elapsed:.1f}s]"
    elif result.started_at is None:
        rest = f"{result.domain:<{width}} not run: refused before dbt started"
    else:
        rest = f"{result.domain:<{width}} {counts_text(result.counts)}  [{result.elapsed:.1f}s]"
    return f"{label:<5}", colour, rest


def build_summary(result: BuildResult) -> str:
    n = {s: sum(1 for d in result.domains if d.status == s) for s in STATUS_LABEL}
    extra = "".join(f", {n[s]} {s}" for s in (S.UNCHANGED, S.CANCELLED) if n[s])
    head = "Cancelled after" if result.cancelled else "Done in"
    return (f"{head} {result.elapsed:.1f}s: {n[S.SUCCESS]} succeeded, {n[S.ERROR]} failed, "
            f"{n[S.SKIPPED]} skipped{extra}")


def ls_text(infos: list[DomainInfo]) -> str:
    lines = []
    for info in infos:
        owner = " ".join(x for x in (info.owner.get("team"), f"<{info.owner['email']}>" if info.owner.get("email") else None) if x)
        where = f"external: {info.external}" if info.external else info.path
        lines.append(f"{info.name}  ({where}){'  owner: ' + owner if owner else ''}")
        lines.append(f"  upstreams:   {', '.join(info.upstreams) or '-'}")
        lines.append(f"  downstreams: {', '.join(info.downstreams) or '-'}")
        if not info.built:
            lines.append("  public models: unknown until built (mesh build)")
        elif not info.public_models:
            lines.append("  public models: none")
        else:
            lines.append("  public models:")
            for m in info.public_models:
                version = f" v{m['version']}" if m["version"] is not None else ""
                latest = " (latest)" if m["version"] is not None and str(m["version"]) == str(m["latest_version"]) else ""
                deprecated = f" deprecated {m['deprecation_date'][:10]}" if m["deprecation_date"] else ""
                contract = "contract enforced" if m["contract_enforced"] else "no contract"
                lines.append(f"    {m['name']}{version}{latest}  {contract}{deprecated}")
        if info.builds is not None:
            lines.append(f"  builds: {_builds_text(info.builds)}")
    return "\n".join(lines)


def _builds_text(builds: dict[str, Any]) -> str:
    if builds["models"] is None:
        return "all (its models are unknown until it is parsed: mesh check)"
    names = ", ".join(builds["models"]) or "-"
    return f"all ({names})" if builds["all"] else names


def graph_data(graph: MeshGraph) -> dict[str, Any]:
    return {
        "domains": graph.domains,
        "external": graph.external,
        "edges": [{"upstream": u, "downstream": d, "models": models, "kinds": kinds}
                  for u, d, models, kinds in graph.edges()],
    }


def graph_text(graph: MeshGraph, fmt: str) -> str:
    edges = graph.edges()
    if fmt == "json":
        return json.dumps(graph_data(graph), indent=2)
    if fmt == "dot":
        lines = ["digraph mesh {", "  rankdir=LR;"]
        lines += [f'  "{n}";' for n in graph.domains]
        lines += [f'  "{n}" [style=dashed, label="{n} (external)"];' for n in graph.external]
        lines += [f'  "{u}" -> "{d}" [label="{", ".join(m) or "declared"}"];' for u, d, m, _ in edges]
        return "\n".join(lines + ["}"])
    if fmt == "mermaid":
        lines = ["graph LR"]
        lines += [f"  {n}" for n in graph.domains if not any(n in (u, d) for u, d, _, _ in edges)]
        lines += [f'  {u} -->|"{", ".join(m) or "declared"}"| {d}' for u, d, m, _ in edges]
        lines += [f'  {n}["{n} (external)"]' for n in graph.external]
        return "\n".join(lines)
    order = graph.order()
    lines = [f"{len(order)} domains in build order: {', '.join(order)}"]
    if graph.external:
        lines.append(f"external (built in other repositories): {', '.join(graph.external)}")
    lines += [f"{u} -> {d}: {', '.join(m) or '(declared, no refs yet)'}" for u, d, m, _ in edges]
    return "\n".join(lines)


def check_text(report: CheckReport, root: Path) -> str:
    lines: list[str] = []
    current = None
    for f in report.sorted():
        if f.domain != current:
            current = f.domain
            lines.append(f.domain or "(mesh)")
        where = f.location(root) or "-"
        lines.append(f"  {f.severity:<5}  {f.rule}  {f.model or '-'}  {where}")
        lines.append(f"         {f.message}")
        lines.append(f"         fix: {f.fix}")
    lines += [f"{domain}: not checked: {why}" for domain, why in sorted(report.unchecked.items())]
    lines.append(check_summary(report))
    return "\n".join(lines)


def check_summary(report: CheckReport) -> str:
    e, w, n = len(report.errors), len(report.warnings), len(report.domains)
    return (f"mesh check: {e} error{'s' if e != 1 else ''}, {w} warning{'s' if w != 1 else ''} "
            f"in {n} domain{'s' if n != 1 else ''}")


def check_json(report: CheckReport, root: Path) -> str:
    return json.dumps({
        "version": 1,
        "summary": {"errors": len(report.errors), "warnings": len(report.warnings), "domains": report.domains,
                    "unchecked": report.unchecked},
        "findings": [f.to_dict(root) for f in report.sorted()],
    }, indent=2)


def rules_text() -> str:
    width = max(len(r) for r in RULES)
    return "\n".join(f"{r.id:<{width}}  {r.severity:<5}  {r.summary}" for r in sorted(RULES.values(), key=lambda r: r.id))
