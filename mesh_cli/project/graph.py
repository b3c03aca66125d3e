"""The mesh graph: domains and the models that link them, around networkx DiGraphs."""
from __future__ import annotations

from typing import Iterable

import networkx as nx

from mesh_cli.core.errors import CycleError, UnknownDomainError
from mesh_cli.project.selection import Word, expand, parse_words


class MeshGraph:
    """Edges point from the upstream (producer) domain to the downstream (consumer) one.
    Each edge records why it exists (`kinds`) and which models cross it (`models`)."""

    def __init__(self, domains: Iterable[str], external: Iterable[str] = ()) -> None:
        self._g: nx.DiGraph = nx.DiGraph()
        self._models: nx.DiGraph = nx.DiGraph()
        self._g.add_nodes_from(sorted(domains))
        # Domains of other repositories: nodes, so their edges and upstreams show, but never
        # selected, ordered or built here.
        self._external = frozenset(external)
        self._g.add_nodes_from(sorted(self._external))
        self._order: list[str] | None = None   # the full order, once known to be acyclic

    @property
    def domains(self) -> list[str]:
        """The domains of this mesh (external ones are in `external`)."""
        return sorted(n for n in self._g.nodes if n not in self._external)

    @property
    def external(self) -> list[str]:
        return sorted(self._external)

    def is_external(self, name: str) -> bool:
        return name in self._external

    def link(self, upstream: str, downstream: str, kind: str, model: str | None = None,
             consumer_model: str | None = None) -> None:
        if not self._g.has_edge(upstream, downstream):
            self._g.add_edge(upstream, downstream, kinds=set(), models=set())
            self._order = None
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
        """The domains of this mesh `name` reads from, directly or not."""
        return set(nx.ancestors(self._g, name)) - self._external

    def check_acyclic(self) -> None:
        if self._order is not None:   # asked for on every use of the graph: checked once
            return
        try:
            cycle = nx.find_cycle(self._g)
        except nx.NetworkXNoCycle:
            self._order = [n for n in nx.lexicographical_topological_sort(self._g) if n not in self._external]
            return
        path = [u for u, _ in cycle]
        start = path.index(min(path))  # name the same cycle the same way every time
        path = path[start:] + path[:start]
        raise CycleError(path + [path[0]])

    def order(self, only: Iterable[str] | None = None) -> list[str]:
        """Topological order, ties broken by name."""
        self.check_acyclic()
        assert self._order is not None
        if only is None:
            return list(self._order)
        keep = set(only)
        return [n for n in self._order if n in keep]

    def expand(self, word: Word) -> set[str]:
        """The domains a word picks; a model word picks its domain with the same operators, so it
        names every domain the models it reaches can be in."""
        if word.domain not in self._g or word.domain in self._external:
            hint = (f"'{word.domain}' is external (built in another repository): select its consumers here"
                    if word.domain in self._external else "check --select/--exclude")
            raise UnknownDomainError(word.domain, self.domains, hint=hint)
        return expand(self._g, word.domain, word) - self._external

    def select(self, select: Iterable[str] = (), exclude: Iterable[str] = ()) -> list[str]:
        """dbt's selection words over domains: `name`, `+name`, `name+`, `2+name`, `name+1`, `@name`.
        For commands that work per domain, a model word in --select counts as its domain's word
        (`orders.fct_orders+` as `orders+`), and one in --exclude removes no domain."""
        words = parse_words(select)
        chosen: set[str] = set(self.domains) if not words else set().union(*(self.expand(w) for w in words))
        for word in parse_words(exclude):
            removed = self.expand(word)  # a model word's domain must exist too
            if not word.is_model:
                chosen -= removed
        return self.order(chosen)
