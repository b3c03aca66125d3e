"""Which columns of one relation a compiled query reads, with sqlglot.

A breaking change to a column matters only to consumers that read it; this tells them apart.
Answers err on the side of "reads": a column we cannot rule out counts as read."""
from __future__ import annotations

from typing import Iterable, Optional

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.pushdown_projections import pushdown_projections
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

Schema = dict[str, dict[str, str]]   # relation name as dbt writes it -> column -> type


def relation_parts(relation: str, dialect: str = "duckdb") -> list[str]:
    table = sqlglot.parse_one(relation, into=exp.Table, dialect=dialect)
    return [p.name.lower() for p in table.parts]


def _is(table: exp.Table, want: list[str]) -> bool:
    have = [p.name.lower() for p in table.parts]
    n = min(len(have), len(want))
    return have[-n:] == want[-n:]


def _nested(schema: Schema, dialect: str) -> dict:
    """sqlglot's nested schema (catalog -> db -> table -> columns), one depth for all tables."""
    nested: dict = {}
    for relation, cols in schema.items():
        parts = relation_parts(relation, dialect)
        if len(parts) != 3 or not cols:
            continue
        nested.setdefault(parts[0], {}).setdefault(parts[1], {})[parts[2]] = dict(cols)
    return nested


def _sources(scope: Scope, want: list[str]) -> set[str]:
    return {name for name, src in scope.sources.items() if isinstance(src, exp.Table) and _is(src, want)}


def _stars(scope: Scope) -> bool:
    """A `*` or `t.*` projection (count(*) reads no column)."""
    return any(not isinstance(s.parent, exp.Count) for s in scope.expression.find_all(exp.Star)) or any(
        c.is_star for c in scope.columns)


def _collect(tree: exp.Expression, want: list[str], known: list[str]) -> Optional[set[str]]:
    """Columns of our alias in every scope that reads the relation; unqualified columns that
    sqlglot could not place count as ours unless the known columns rule them out."""
    read: set[str] = set()
    lowered = {k.lower() for k in known}
    for scope in traverse_scope(tree):
        ours = _sources(scope, want)
        if not ours:
            continue
        if _stars(scope):
            return set(known) if known else None
        alone = len(scope.sources) == 1
        for col in scope.columns:
            if col.table in ours or (not col.table and (alone or not lowered or col.name.lower() in lowered)):
                read.add(col.name)
    return read


def _precise(tree: exp.Expression, want: list[str], known: list[str], schema: Schema,
             dialect: str) -> Optional[set[str]]:
    """Qualify every column and drop projections nobody uses before collecting."""
    tree = qualify(tree, schema=_nested(schema, dialect) or None, dialect=dialect,
                   validate_qualify_columns=False, identify=False)
    return _collect(pushdown_projections(tree), want, known)


def columns_read(sql: str, relation: str, columns: Iterable[str] = (), schema: Optional[Schema] = None,
                 dialect: str = "duckdb") -> Optional[set[str]]:
    """The columns of `relation` that `sql` reads; an empty set when it does not read the relation,
    None when it reads it but which columns cannot be told (unparseable SQL, `*` of unknown columns).

    `columns` are the relation's known columns; `schema` the known columns of other relations."""
    known = list(columns)
    want = relation_parts(relation, dialect)
    try:
        tree = sqlglot.parse_one(sql, dialect=dialect)
    except SqlglotError:
        return None
    if not any(_is(t, want) for t in tree.find_all(exp.Table)):
        return set()
    full = {**(schema or {}), relation: {c: "unknown" for c in known}} if known else dict(schema or {})
    try:
        found = _precise(tree.copy(), want, known, full, dialect)
    except (SqlglotError, KeyError, ValueError):
        found = _collect(tree, want, known)
    if found is None or not known:
        return found
    # names as the producer spells them, so callers can compare with the contract's columns
    spelled = {k.lower(): k for k in known}
    return {spelled.get(c.lower(), c) for c in found}
