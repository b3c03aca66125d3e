"""The mesh graph: domains and the models that link them, around networkx DiGraphs."""
from __future__ import annotations

import re
from typing import Iterable

import networkx as nx

from mesh_cli.errors import CycleError, UnknownDomainError

_SELECTOR = re.compile(r"^(?P<up>\d*\+)?(?P<name>[^+]+)(?P<down>\+\d*)?$")


class MeshGraph:
    """Edges point from the upstream (producer) domain to the downstream (consumer) one.
    Each edge records why it exists (`kinds`) and which models cross it (`models`)."""

    def __init__(self, domains: Iterable[str]) -> None:
        self._g: nx.DiGraph = nx.DiGraph()
        self._models: nx.DiGraph = nx.DiGraph()
        self._g.add_nodes_from(sorted(domains))

    @property
    def domains(self) -> list[str]:
        return sorted(self._g.nodes)

    def link(self, upstream: str, downstream: str, kind: str, model: str | None = None,
             consumer_model: str | None = None) -> None:
        if not self._g.has_edge(upstream, downstream):
            self._g.add_edge(upstream, downstream, kinds=set(), models=set())
        data = self._g.edges[upstream, downstream]
        data["kinds"].add(kind)
        if model:
            data["models"].add(model)
            self._models.add_edge(f"{upstream}.{model}", f"{downstream}.{consumer_model or '?'}")

    def edges(self) -> list[tuple[str, str, list[str], list[str]]]:
        """(upstream, downstream, models, kinds), sorted."""
        return [
            (u, d, sorted(data["models"]), sorted(data["kinds"]))
            for u, d, data in sorted(self._g.edges(data=True), key=lambda e: (e[0], e[1]))
        ]

    def model_edges(self) -> list[tuple[str, str]]:
        return sorted(self._models.edges)

    def upstreams(self, name: str) -> list[str]:
        return sorted(self._g.predecessors(name))

    def downstreams(self, name: str) -> list[str]:
        return sorted(self._g.successors(name))

    def ancestors(self, name: str) -> set[str]:
        return set(nx.ancestors(self._g, name))

    def check_acyclic(self) -> None:
        try:
            cycle = nx.find_cycle(self._g)
        except nx.NetworkXNoCycle:
            return
        path = [u for u, _ in cycle]
        start = path.index(min(path))  # name the same cycle the same way every time
        path = path[start:] + path[:start]
        raise CycleError(path + [path[0]])

    def order(self, only: Iterable[str] | None = None) -> list[str]:
        """Topological order, ties broken by name."""
        self.check_acyclic()
        keep = set(self._g.nodes) if only is None else set(only)
        return [n for n in nx.lexicographical_topological_sort(self._g) if n in keep]

    def _expand(self, selector: str) -> set[str]:
        m = _SELECTOR.match(selector.strip())
        if not m or m["name"] not in self._g:
            name = m["name"] if m else selector
            raise UnknownDomainError(name, self.domains, hint="check --select/--exclude")
        name = m["name"]
        chosen = {name}
        if m["up"]:
            depth = int(m["up"][:-1]) if m["up"][:-1] else None
            chosen |= set(nx.ancestors(self._g, name)) if depth is None else _within(self._g.reverse(copy=False), name, depth)
        if m["down"]:
            depth = int(m["down"][1:]) if m["down"][1:] else None
            chosen |= set(nx.descendants(self._g, name)) if depth is None else _within(self._g, name, depth)
        return chosen

    def select(self, select: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[str]:
        """dbt's selection words over domains: `name`, `+name`, `name+`, `2+name`, `name+1`."""
        words = [w for s in select for w in s.replace(",", " ").split()]
        chosen: set[str] = set(self._g.nodes) if not words else set().union(*(self._expand(w) for w in words))
        for word in (w for s in exclude for w in s.replace(",", " ").split()):
            chosen -= self._expand(word)
        return self.order(chosen)


def _within(graph: nx.DiGraph, name: str, depth: int) -> set[str]:
    return set(nx.single_source_shortest_path_length(graph, name, cutoff=depth)) - {name}

