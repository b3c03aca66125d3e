"""The cross-domain model lineage graph of the docs site, laid out in Python and drawn as SVG."""
from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Callable, Optional

import networkx as nx

NODE_H, CHAR_W, MAX_CHARS = 30, 7.4, 40  # CHAR_W: a generous average width of a 13px sans-serif character
COL_GAP, ROW_GAP, MARGIN = 44, 12, 16
# Colour-blind-friendly (Okabe-Ito, then Tol) so domains stay distinguishable on screen and paper.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#882255", "#44AA99",
           "#999933", "#AA4499"]


@dataclass
class Node:
    id: str          # domain.model[.vN], as mesh_cli.catalog.lineage names it
    domain: str
    name: str
    version: Optional[str]
    access: str
    x: float = 0.0
    y: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.name}.v{self.version}" if self.version is not None else self.name


def model_graph(lineage: nx.DiGraph) -> nx.DiGraph:
    """The models of the mesh's lineage graph (seeds and sources left out), each with its Node."""
    g = nx.DiGraph()
    for key, data in lineage.nodes(data=True):
        if data.get("kind") == "model":
            g.add_node(key, node=Node(key, data["domain"], data["name"], data.get("version"), data.get("access") or "protected"))
    g.add_edges_from((a, b) for a, b in lineage.edges if a in g and b in g)
    return g


def node_width(g: nx.DiGraph) -> float:
    """One width for every box, wide enough for the longest label: a layered drawing reads best aligned."""
    longest = max((len(data["node"].label) for _, data in g.nodes(data=True)), default=10)
    return max(round(min(longest, MAX_CHARS) * CHAR_W + 24), 120)


def layout(g: nx.DiGraph) -> tuple[list[Node], float, float]:
    """Layered layout: each model in the column of its longest path from a source, rows ordered
    by the mean row of their upstreams (two sweeps of the barycentre heuristic) to cut crossings."""
    layers = [sorted(gen, key=lambda n: (g.nodes[n]["node"].domain, n)) for gen in nx.topological_generations(g)]
    row: dict[str, float] = {}
    for sweep in range(2):
        for layer in layers:
            if sweep or layer is not layers[0]:
                layer.sort(key=lambda n: (_barycentre(g, n, row), g.nodes[n]["node"].domain, n))
            row.update({n: i for i, n in enumerate(layer)})
    height = max((len(layer) for layer in layers), default=0)
    width = node_width(g)
    nodes = []
    for col, layer in enumerate(layers):
        offset = (height - len(layer)) / 2  # centre short columns against the tallest one
        for i, n in enumerate(layer):
            node = g.nodes[n]["node"]
            node.x = MARGIN + col * (width + COL_GAP)
            node.y = MARGIN + (i + offset) * (NODE_H + ROW_GAP)
            nodes.append(node)
    total = 2 * MARGIN + len(layers) * width + max(len(layers) - 1, 0) * COL_GAP
    return nodes, total, 2 * MARGIN + height * (NODE_H + ROW_GAP) - ROW_GAP


def _barycentre(g: nx.DiGraph, n: str, row: dict[str, float]) -> float:
    ups = [row[p] for p in g.predecessors(n) if p in row]
    return sum(ups) / len(ups) if ups else row.get(n, 0.0)


def domain_colours(domains: list[str]) -> dict[str, str]:
    return {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(sorted(set(domains)))}


def svg(g: nx.DiGraph, href: Callable[[Node], str], colours: dict[str, str]) -> str:
    """Inline SVG: each node a link, each edge a curve; data-* attributes drive the hover script."""
    nodes, width, height = layout(g)
    box = node_width(g)
    where = {n.id: n for n in nodes}
    parts = [f'<svg id="lineage" class="lineage" xmlns="http://www.w3.org/2000/svg" role="img" '
             f'aria-label="Model lineage across domains" viewBox="0 0 {width:g} {height:g}" '
             f'width="{width:g}" height="{height:g}" style="max-width:{width:g}px">', '<g class="viewport">', '<g class="edges">']
    for u, v in sorted(g.edges):
        a, b = where[u], where[v]
        x1, y1, x2, y2 = a.x + box, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2
        mid = (x1 + x2) / 2
        cross = " cross" if a.domain != b.domain else ""
        parts.append(f'<path class="edge{cross}" data-from="{escape(u)}" data-to="{escape(v)}" '
                     f'd="M{x1:g},{y1:g} C{mid:g},{y1:g} {mid:g},{y2:g} {x2:g},{y2:g}"/>')
    parts.append('</g><g class="nodes">')
    for n in sorted(nodes, key=lambda n: n.id):
        kind = "product" if n.access == "public" else "internal"
        colour = colours.get(n.domain, PALETTE[0])
        label = n.label if len(n.label) <= MAX_CHARS else n.label[:MAX_CHARS - 1] + "…"
        fill = colour if kind == "product" else "#ffffff"
        text = "#ffffff" if kind == "product" else "#1f2933"
        parts.append(
            f'<a href="{escape(href(n))}" class="node {kind}" data-id="{escape(n.id)}" data-domain="{escape(n.domain)}">'
            f'<title>{escape(n.domain)}.{escape(n.label)} ({escape(n.access)})</title>'
            f'<rect x="{n.x:g}" y="{n.y:g}" width="{box:g}" height="{NODE_H}" rx="6" fill="{fill}" stroke="{colour}"/>'
            f'<text x="{n.x + 10:g}" y="{n.y + NODE_H / 2 + 4:g}" fill="{text}">{escape(label)}</text></a>')
    parts.append("</g></g></svg>")
    return "\n".join(parts)
