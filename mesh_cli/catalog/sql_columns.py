"""What the compiled SQL of the mesh's nodes says about their columns, read with sqlglot: the
columns a node outputs, the parents' columns each is computed from, and whether a consumer's SQL
reads a column of a producer. A node's SQL is parsed in its domain's dialect against a schema built
from its parents' declared columns (or, for a parent without declared columns, from its own SQL)."""
from __future__ import annotations

import csv
from typing import TYPE_CHECKING, Any, Mapping, Optional

import networkx as nx
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import lineage as sqlglot_lineage
from sqlglot.optimizer.qualify import qualify

from mesh_cli.contracts.columns import columns_read
from mesh_cli.core.errors import LineageUnavailableError
from mesh_cli.state.nodes import Node

if TYPE_CHECKING:
    from mesh_cli.project.context import MeshContext

Relation = tuple[str, str, str]  # (database, schema, identifier), lower case


def relation(node: Node) -> Relation:
    return (str(node.database or "").lower(), str(node.schema or "").lower(), node.identifier.lower())


class SqlColumns:
    """The columns of the nodes of a model graph, as their compiled SQL says; the nodes, their
    relations and their SQL dialects are given by key, as the graph names them."""

    def __init__(self, ctx: "MeshContext", graph: nx.DiGraph, views: Mapping[str, Node],
                 relations: Mapping[Relation, str], dialects: Mapping[str, str]) -> None:
        self.ctx, self.graph, self.views, self.relations = ctx, graph, views, relations
        self._dialects = dialects                     # key -> the SQL dialect of its domain's warehouse
        # Worked out on demand and kept: a walk asks for the same model's columns many times.
        self._outputs: dict[str, list[str]] = {}
        self._sources: dict[str, dict[str, set[tuple[str, str]]]] = {}
        self._trees: dict[str, exp.Query] = {}

    def columns(self, key: str) -> list[str]:
        """The columns a node outputs: from its SQL when compiled, else declared, else a seed's header."""
        return list(self._outputs.get(key) or self._output_columns(key))

    def _output_columns(self, key: str) -> list[str]:
        if key in self._outputs:
            return self._outputs[key]
        self._outputs[key] = []  # a guard against cycles while the parents are worked out
        node = self.views[key]
        columns = [c.name.lower() for c in node.columns]
        if node.compiled_code:
            try:
                columns = [s.alias_or_name.lower() for s in self._qualified(key).selects] or columns
            except SqlglotError:
                pass
        elif not columns and node.resource_type == "seed":
            columns = self._seed_header(node)
        self._outputs[key] = columns
        return columns

    def _seed_header(self, node: Node) -> list[str]:
        domain = self.ctx.domains.get(node.package)
        path = domain.path / (node.original_file_path or "") if domain else None
        if path is None or not path.is_file():
            return []
        with path.open(newline="", encoding="utf-8") as handle:
            return [c.strip().lower() for c in next(csv.reader(handle), [])]

    def dialect(self, key: str) -> str:
        """The dialect `key`'s SQL was compiled in: its domain's adapter (DuckDB when unknown)."""
        return self._dialects.get(key, "duckdb")

    def _schema(self, key: str) -> dict[str, Any]:
        """What the SQL of `key` reads: its parents' relations and their columns, for sqlglot."""
        schema: dict[str, Any] = {}
        for parent in self.graph.predecessors(key):
            db, sch, table = relation(self.views[parent])
            types = {c.name.lower(): _type(c.data_type, self.dialect(key)) for c in self.views[parent].columns}
            cols = {c: types.get(c, "UNKNOWN") for c in self._output_columns(parent)}
            if cols:
                schema.setdefault(db, {}).setdefault(sch, {})[table] = cols
        return schema

    def _qualified(self, key: str) -> exp.Query:
        if key not in self._trees:
            dialect = self.dialect(key)
            tree = sqlglot.parse_one(self.views[key].compiled_code or "", dialect=dialect)
            self._trees[key] = qualify(tree, dialect=dialect, schema=self._schema(key),
                                       validate_qualify_columns=False, identify=False)
        return self._trees[key]

    def compiled(self, key: str) -> Optional[str]:
        """The node's compiled SQL; None for a node never compiled (or not in the mesh)."""
        node = self.views.get(key)
        return node.compiled_code if node is not None else None

    def column_sources(self, key: str) -> dict[str, set[tuple[str, str]]]:
        """For each output column of `key`, the (node, column) pairs of its parents it is computed from."""
        if key in self._sources:
            return self._sources[key]
        if not self.compiled(key):
            raise LineageUnavailableError(key, "its manifest has no compiled SQL (never built, or not a model)")
        try:
            outputs = sqlglot_lineage(None, self._qualified(key).copy(), schema=self._schema(key),
                                      dialect=self.dialect(key))
        except SqlglotError as exc:
            raise LineageUnavailableError(key, f"sqlglot could not analyse its SQL ({exc})") from exc
        found: dict[str, set[tuple[str, str]]] = {}
        for column, root in outputs.items():
            found[column.lower()] = {
                (self.relations.get(_table(leaf.expression), ".".join(_table(leaf.expression))),
                 leaf.name.split(".")[-1].lower())
                for leaf in root.walk() if not leaf.downstream and isinstance(leaf.expression, exp.Table)
            }
        self._sources[key] = found
        return found

    def reads(self, consumer: str, producer: str, column: str) -> Optional[bool]:
        """Whether the SQL of `consumer` reads `column` of `producer` anywhere (select, join, filter);
        None when that cannot be told."""
        parents = [p for p in self.graph.predecessors(consumer) if self.views[p].relation_name]
        schema = {self.views[p].relation_name: {c: "unknown" for c in self._output_columns(p)} for p in parents}
        read = columns_read(self.compiled(consumer) or "", self.views[producer].relation_name or "",
                            self._output_columns(producer), schema, self.dialect(consumer))
        return None if read is None else column in {c.lower() for c in read}


def _table(table: exp.Table) -> Relation:
    return (table.catalog.lower(), table.db.lower(), table.name.lower())


def _type(data_type: Optional[str], dialect: str) -> str:
    if not data_type:
        return "UNKNOWN"
    try:
        exp.DataType.build(data_type, dialect=dialect)
    except (SqlglotError, ValueError):
        return "UNKNOWN"
    return data_type
