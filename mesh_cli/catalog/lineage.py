"""Lineage across domains: models, seeds and sources, and the columns of public models.

Model-level edges come from every domain's manifest (`depends_on`); a consumer's injected node id
(`model.orders.fct_orders.v1`) is the producer's real node id, so the domains join on it. Column
lineage follows what each model's `compiled_code` says about its columns (catalog/sql_columns.py,
with sqlglot) from node to node."""
from __future__ import annotations

import difflib
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Optional

import networkx as nx
from sqlglot.errors import SqlglotError

from mesh_cli.catalog.manifests import DomainManifest, load_manifests, model_key
from mesh_cli.catalog.sql_columns import Relation, SqlColumns, relation
from mesh_cli.core.errors import LineageUnavailableError, UnknownColumnError, UnknownNodeError
from mesh_cli.state.nodes import Node

if TYPE_CHECKING:
    from mesh_cli.project.context import MeshContext

_KINDS = ("model", "seed", "snapshot", "source")


@dataclass
class Lineage:
    """A lineage answer: `roots` and the edges found walking from them (data flows `from` -> `to`).
    Node ids are `domain.model[.vN]` or, for column lineage, `domain.model[.vN].column`."""

    roots: list[str]
    direction: str                                  # up, down or both
    depth: Optional[int]
    column: Optional[str] = None
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)      # domains neither built nor checked
    unresolved: dict[str, str] = field(default_factory=dict)  # node -> why its SQL gave no column lineage
    external: list[str] = field(default_factory=list)     # domains built in other repositories

    def add_edge(self, source: str, target: str) -> None:
        if (source, target) not in self.edges:
            self.edges.append((source, target))

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1, "roots": self.roots, "direction": self.direction, "depth": self.depth,
            "column": self.column,
            "nodes": [{"id": k, **v} for k, v in sorted(self.nodes.items())],
            "edges": [{"from": a, "to": b, "cross_domain": self.nodes[a]["domain"] != self.nodes[b]["domain"]}
                      for a, b in self.edges],
            "missing": self.missing, "unresolved": self.unresolved, "external": self.external,
        }


class MeshLineage:
    """Every model, seed, snapshot and source of the mesh, from the manifests, as one graph."""

    def __init__(self, ctx: "MeshContext", newest: bool = False) -> None:
        self.ctx = ctx
        manifests, self.missing = load_manifests(ctx, newest)  # newest: see load_manifests
        self.graph: nx.DiGraph = nx.DiGraph()
        self.views: dict[str, Node] = {}               # key -> its node in the manifest view
        self.nodes: dict[str, Mapping[str, Any]] = {}  # key -> the node as dbt wrote it, for dbt_selector()
        self.relations: dict[Relation, str] = {}
        self._dialects: dict[str, str] = {}            # key -> the SQL dialect of its domain's warehouse
        # Real nodes first, so an injected copy in a consumer's manifest never hides its producer's.
        for dm in manifests.values():
            for node in self._own(dm):
                self._add(node.key, node, dm)
        for dm in manifests.values():
            for node in self._own(dm):
                for parent in node.depends_on:
                    if parent.split(".")[0] in _KINDS:
                        if model_key(parent) not in self.views:
                            injected = dm.manifest.get(parent)
                            if injected is None:
                                continue
                            self._add(model_key(parent), injected, None)
                        self.graph.add_edge(model_key(parent), node.key)
        self.sql = SqlColumns(ctx, self.graph, self.views, self.relations, self._dialects)

    @staticmethod
    def _own(dm: DomainManifest) -> Iterable[Node]:
        """The domain's own nodes (and those of packages it builds), not what was injected from others."""
        for node in dm.manifest.nodes.values():
            if node.resource_type not in _KINDS:
                continue
            if node.package != dm.domain and not node.original_file_path:
                continue  # injected by the mesh plugin: no file, owned by another domain
            yield node

    def _add(self, key: str, node: Node, dm: Optional[DomainManifest]) -> None:
        self.views[key], self.nodes[key] = node, node.raw
        if dm is not None:
            self._dialects[key] = dm.manifest.dialect
        self.graph.add_node(key, domain=node.package, name=node.name, kind=node.resource_type,
                            version=node.version_text, access=node.declared_access,
                            built=dm is not None and dm.source == "build")
        self.relations.setdefault(relation(node), key)

    # --- naming ----------------------------------------------------------------------------

    def resolve(self, name: str) -> list[str]:
        """`domain.model[.vN]`; a versioned model named without a version means all its versions."""
        if name in self.views:
            return [name]
        versions = sorted(k for k, n in self.views.items() if n.version is not None and k.rsplit(".", 1)[0] == name)
        if versions:
            return versions
        names = {*self.views, *(k.rsplit(".", 1)[0] for k, n in self.views.items() if n.version is not None)}
        raise UnknownNodeError(name, difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.6))

    # --- model lineage ---------------------------------------------------------------------

    def models(self, name: str, direction: str = "both", depth: Optional[int] = None) -> Lineage:
        roots = self.resolve(name)
        result = Lineage(roots, direction, depth, missing=self.missing)
        for key in roots:
            self._describe(result, key)
            for step, forward in (("up", False), ("down", True)):
                if direction in (step, "both"):
                    self._walk(result, key, forward, depth)
        return result

    def _walk(self, result: Lineage, root: str, forward: bool, depth: Optional[int]) -> None:
        queue, seen = deque([(root, 0)]), {root}
        while queue:
            key, hops = queue.popleft()
            if depth is not None and hops >= depth:
                continue
            for other in sorted(self.graph.successors(key) if forward else self.graph.predecessors(key)):
                self._describe(result, other)
                result.add_edge(*((key, other) if forward else (other, key)))
                if other not in seen:
                    seen.add(other)
                    queue.append((other, hops + 1))

    def _describe(self, result: Lineage, key: str, column: Optional[str] = None) -> str:
        ident = key if column is None else f"{key}.{column}"
        result.nodes.setdefault(ident, {**self.graph.nodes[key], "model": key, "column": column}
                                if key in self.graph else {"domain": key.split(".")[0], "name": key,
                                                           "kind": "relation", "model": key, "column": column})
        return ident

    # --- column lineage --------------------------------------------------------------------

    def column_lineage(self, name: str, column: str, direction: str = "both",
                       depth: Optional[int] = None) -> Lineage:
        roots = self.resolve(name)
        column = column.lower()
        for key in roots:
            known = self.sql.columns(key)
            if column not in known:
                node = self.views[key]
                domain = self.ctx.domains.get(node.package)
                file = domain.path / node.original_file_path if domain and node.original_file_path else None
                if file is not None and file.is_relative_to(self.ctx.root):
                    file = file.relative_to(self.ctx.root)
                raise UnknownColumnError(key, column, known, file)
        result = Lineage([f"{k}.{column}" for k in roots], direction, depth, column, missing=self.missing)
        for key in roots:
            self._describe(result, key, column)
            if direction in ("up", "both"):
                self._columns_up(result, key, column, depth)
            if direction in ("down", "both"):
                self._columns_down(result, key, column, depth)
        return result

    def _columns_up(self, result: Lineage, key: str, column: str, depth: Optional[int]) -> None:
        queue, seen = deque([(key, column, 0)]), {(key, column)}
        while queue:
            node, col, hops = queue.popleft()
            if (depth is not None and hops >= depth) or not self.sql.compiled(node):
                continue
            try:
                sources = self.sql.column_sources(node).get(col, set())
            except LineageUnavailableError as exc:
                result.unresolved[node] = exc.why
                continue
            for parent, parent_col in sorted(sources):
                result.add_edge(self._describe(result, parent, parent_col), f"{node}.{col}")
                if (parent, parent_col) not in seen and parent in self.views:
                    seen.add((parent, parent_col))
                    queue.append((parent, parent_col, hops + 1))

    def _columns_down(self, result: Lineage, key: str, column: str, depth: Optional[int]) -> None:
        queue, seen = deque([(key, column, 0)]), {(key, column)}
        while queue:
            node, col, hops = queue.popleft()
            if depth is not None and hops >= depth:
                continue
            for child in sorted(self.graph.successors(node)):
                if not self.sql.compiled(child):
                    if self.views[child].resource_type == "model":
                        result.unresolved[child] = "its manifest has no compiled SQL (never built)"
                    continue
                try:
                    into = sorted(c for c, srcs in self.sql.column_sources(child).items() if (node, col) in srcs)
                    reads = self.sql.reads(child, node, col) if not into else True
                except (LineageUnavailableError, SqlglotError) as exc:
                    result.unresolved[child] = getattr(exc, "why", str(exc))
                    continue
                if reads is None:
                    result.unresolved[child] = f"could not tell which columns of {node} its SQL reads"
                for out in into:
                    result.add_edge(f"{node}.{col}", self._describe(result, child, out))
                    if (child, out) not in seen:
                        seen.add((child, out))
                        queue.append((child, out, hops + 1))
                if reads and not into:
                    # Read in a join or filter only: the consumer depends on it without passing it on.
                    result.add_edge(f"{node}.{col}", self._describe(result, child))
                    result.nodes[child]["reads_only"] = True


def lineage(ctx: "MeshContext", name: str, direction: str = "both", depth: Optional[int] = None,
            column: Optional[str] = None) -> Lineage:
    """Lineage of `domain.model[.vN]` across the mesh: of the model, or of one of its columns."""
    index = MeshLineage(ctx)
    found = index.models(name, direction, depth) if column is None else index.column_lineage(name, column, direction, depth)
    found.external = sorted(ctx.external)
    return found
