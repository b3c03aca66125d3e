"""The cross-domain model lineage graph of the docs site, laid out in Python; templates/svg.html
draws it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

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


def short_label(label: str) -> str:
    """A label that fits its box: cut at MAX_CHARS, with an ellipsis."""
    return label if len(label) <= MAX_CHARS else label[:MAX_CHARS - 1] + "…"
