"""Text, DOT and Mermaid renderings of the catalog and of lineage. Pure: returns strings."""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional

from mesh_cli.catalog.products import Catalog, Column, LastBuild, Product, ProductVersion
from mesh_cli.core.status import DomainStatus

if TYPE_CHECKING:
    from mesh_cli.catalog.lineage import Lineage  # imports sqlglot: only when lineage is asked for

MISSING_NOTE = "Note: {domains} {verb} neither built nor checked, so {pronoun} data products are not listed; run `mesh build` or `mesh check` first"


def missing_note(missing: list[str]) -> Optional[str]:
    if not missing:
        return None
    many = len(missing) > 1
    return MISSING_NOTE.format(domains=", ".join(missing), verb="are" if many else "is",
                               pronoun="their" if many else "its")


def age_text(seconds: Optional[float]) -> str:
    if seconds is None:
        return "?"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def last_build_text(product: Product) -> str:
    build: Optional[LastBuild] = product.last_build
    if product.source == "check":
        return f"never built (checked only){'; last build ' + build.status if build else ''}"
    if product.source == "external":   # built in another repository: what its published state says
        text = f"external, built {age_text(build.age_seconds)}" if build and build.at else "external"
        return text + (f", {'fresh' if build.fresh else 'stale'} (SLA {product.sla_freshness})"
                       if build and build.fresh is not None else "")
    if build is None:
        return "unknown"
    if build.at is None:
        text = build.status   # never built
    else:
        text = build.status if build.status == DomainStatus.SUCCESS else f"{build.status}, last success"
        text = f"{text} {age_text(build.age_seconds)}"
    if build.fresh is not None:
        text += f", {'fresh' if build.fresh else 'stale'} (SLA {product.sla_freshness})"
    return text


def versions_text(product: Product) -> str:
    parts = []
    for v in product.versions:
        if v.version is None:
            parts.append("-")
            continue
        text = f"v{v.version}" + ("*" if v.is_latest else "")
        parts.append(text + (f" (deprecated {v.deprecation_date})" if v.deprecation_date else ""))
    return ", ".join(parts)


def _latest(product: Product) -> ProductVersion:
    return next((v for v in product.versions if v.is_latest), product.versions[-1])


def _owner(product: Product) -> str:
    return " ".join(x for x in (product.owner_team, f"<{product.owner_email}>" if product.owner_email else None) if x) or "-"


def _consumer_count(product: Product) -> int:
    return len({(c.domain, c.model) for v in product.versions for c in v.consumers})


def catalog_text(found: list[Product], query: Optional[str]) -> str:
    if not found:
        return f"No data product matches {query!r}." if query else "No data product matches."
    header = ("PRODUCT", "VERSIONS", "OWNER", "CONTRACT", "COLUMNS", "CONSUMERS", "LAST BUILD")
    rows = [(p.key, versions_text(p), _owner(p), "enforced" if _latest(p).contract_enforced else "none",
             str(len(_latest(p).columns)), str(_consumer_count(p)), last_build_text(p)) for p in found]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) + "  " + r[-1] for r in (header, *rows)]
    n = len(found)
    return "\n".join([*lines, "", f"{n} data product{'s' if n != 1 else ''} (* latest version)"])


def catalog_json(catalog: Catalog, found: list[Product]) -> str:
    return json.dumps({"version": 1, "products": [p.to_dict() for p in found], "missing": catalog.missing}, indent=2)


def _column_line(c: Column, width: int) -> str:
    facts = [c.data_type or "(no type)"]
    facts += [x.replace("_", " ") for x in c.constraints]
    if c.tests:
        facts.append("tests: " + ", ".join(c.tests))
    if c.pii:
        facts.append("PII")
    text = f"      {c.name.ljust(width)}  {'; '.join(facts)}"
    return text + (f"  - {c.description.strip()}" if c.description.strip() else "")


def _contract_text(v: ProductVersion) -> str:
    if not v.contract_path:
        return "not published (contracts/ holds no file for this version)"
    summary: dict[str, Any] = v.contract or {}
    facts = [f"{k} {summary[k]}" for k in ("apiVersion", "version", "status") if summary.get(k)]
    if "properties" in summary:
        facts.append(f"{summary['properties']} properties in {summary.get('objects', 0)} object(s)")
    return v.contract_path + (f" ({', '.join(facts)})" if facts else "")


def show_text(p: Product) -> str:
    where = f", external: published at {p.location}" if p.source == "external" else ""
    lines = [f"{p.key}  (data product of domain {p.domain}{where})"]
    if p.description.strip():
        lines.append(f"  {' '.join(p.description.split())}")
    facts = [
        ("owner", _owner(p) + (f" (group {p.group})" if p.group else "")),
        ("tags", ", ".join(p.tags) or "-"),
        ("materialized", p.materialized or "-"),
        ("file", p.original_file_path or "-"),
        ("SLA", f"freshness {p.sla_freshness}" if p.sla_freshness else "none declared (meta.mesh.sla)"),
        ("last build", last_build_text(p) + (f" (at {p.last_build.at})" if p.last_build and p.last_build.at else "")),
        ("tests", f"{len(p.tests)}"),
    ]
    lines += [f"  {k + ':':<14}{v}" for k, v in facts]
    for v in p.versions:
        label = "unversioned" if v.version is None else f"version {v.version}" + (" (latest)" if v.is_latest else "")
        flags = ["contract enforced" if v.contract_enforced else "no enforced contract"]
        if v.deprecation_date:
            flags.append(f"deprecated {v.deprecation_date}")
        lines += ["", f"  {label}  {', '.join(flags)}"]
        if v.description.strip() and v.description != p.description:
            lines.append(f"    {' '.join(v.description.split())}")
        lines.append(f"    contract: {_contract_text(v)}")
        width = max((len(c.name) for c in v.columns), default=0)
        lines.append(f"    columns ({len(v.columns)}):")
        lines += [_column_line(c, width) for c in v.columns] or ["      (none declared)"]
        lines.append(f"    tests ({len(v.tests)}):")
        lines += [f"      {t}" for t in v.tests] or ["      (none)"]
        lines.append(f"    consumers ({len(v.consumers)}):")
        lines += [f"      {c.domain}.{c.model}  " + (f"pinned to v{c.version}" if c.version else "follows the latest")
                  for c in v.consumers] or ["      (none)"]
    return "\n".join(lines)


# --- lineage -----------------------------------------------------------------------------------

def _label(result: Lineage, ident: str) -> str:
    node = result.nodes[ident]
    if node.get("reads_only"):
        return f"{ident} (reads it in a join or filter)"
    return ident if node.get("kind") in (None, "model") else f"{ident} ({node['kind']})"


def lineage_text(result: Lineage) -> str:
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for a, b in result.edges:
        children.setdefault(a, []).append(b)
        parents.setdefault(b, []).append(a)
    lines: list[str] = []
    for root in result.roots:
        lines.append(_label(result, root))
        for step, title, links, arrow in (("up", "upstream", parents, "<-"), ("down", "downstream", children, "->")):
            if result.direction not in (step, "both"):
                continue
            lines.append(f"  {title}:")
            before = len(lines)
            _tree(result, root, links, arrow, 2, {root}, lines)
            if len(lines) == before:
                lines.append("    (none)")
    for node, why in sorted(result.unresolved.items()):
        lines.append(f"Note: no column lineage through {node}: {why}")
    return "\n".join(lines)


def _tree(result: Lineage, node: str, links: dict[str, list[str]], arrow: str, level: int,
          expanded: set[str], lines: list[str]) -> None:
    for other in sorted(links.get(node, [])):
        cross = result.nodes[other]["domain"] != result.nodes[node]["domain"]
        seen = other in expanded and links.get(other)
        mark = "  [external domain]" if cross and result.nodes[other]["domain"] in result.external else "  [other domain]" if cross else ""
        lines.append(f"{'  ' * level}{arrow} {_label(result, other)}{mark}"
                     f"{'  (see above)' if seen else ''}")
        if not seen:
            expanded.add(other)
            _tree(result, other, links, arrow, level + 1, expanded, lines)


def lineage_dot(result: Lineage) -> str:
    lines = ["digraph lineage {", "  rankdir=LR;", "  node [shape=box];"]
    by_domain: dict[str, list[str]] = {}
    for ident, node in sorted(result.nodes.items()):
        by_domain.setdefault(node["domain"], []).append(ident)
    for domain, idents in sorted(by_domain.items()):
        lines.append(f'  subgraph "cluster_{domain}" {{')
        lines.append(f'    label="{domain}";')
        for ident in idents:
            style = ", style=bold" if ident in result.roots else ""
            lines.append(f'    "{ident}" [label="{_label(result, ident)}"{style}];')
        lines.append("  }")
    lines += [f'  "{a}" -> "{b}";' for a, b in result.edges]
    return "\n".join(lines + ["}"])


def lineage_mermaid(result: Lineage) -> str:
    ids = {ident: f"n{i}" for i, ident in enumerate(sorted(result.nodes))}
    lines = ["graph LR"]
    by_domain: dict[str, list[str]] = {}
    for ident, node in sorted(result.nodes.items()):
        by_domain.setdefault(node["domain"], []).append(ident)
    for domain, idents in sorted(by_domain.items()):
        lines.append(f"  subgraph {domain}")
        lines += [f'    {ids[i]}["{_label(result, i)}"]' for i in idents]
        lines.append("  end")
    lines += [f"  {ids[a]} --> {ids[b]}" for a, b in result.edges]
    return "\n".join(lines)


def lineage_output(result: Lineage, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2)
    if fmt == "dot":
        return lineage_dot(result)
    if fmt == "mermaid":
        return lineage_mermaid(result)
    return lineage_text(result)
