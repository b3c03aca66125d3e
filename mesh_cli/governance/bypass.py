"""Find SQL that reads another domain's relation by name instead of through ref().

Each domain builds into a DuckDB catalog named after it, so `orders.main.fct_orders` (or
`orders.fct_orders`, which DuckDB resolves through the attached catalog) reads the orders
domain without passing the access checks that `{{ ref('orders', 'fct_orders') }}` goes through.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import Token, TokenType


@dataclass(frozen=True)
class Bypass:
    relation: str   # as written in the model, e.g. "orders"."main"."fct_orders"
    domain: str     # the domain that owns the catalog
    line: int       # 1-based, in the original text


_Span = tuple[int, int, str]   # start and end offsets of a dotted relation name, and its first part (lowercase)


def find_bypasses(sql: str, foreign: dict[str, str]) -> list[Bypass]:
    """Relations in `sql` whose catalog (or, for two-part names, first part) is another domain's.

    `foreign` maps lowercase catalog names to their owning domain; the caller leaves the
    file's own domain out. One Bypass per relation, line and domain, in the order written.
    """
    if not foreign or not sql:
        return []
    return matching(sql, candidates(sql), foreign)


def candidates(sql: str) -> list[_Span]:
    """Every relation name in `sql` that could read another catalog, whoever owns it: the part of
    the work that depends on the SQL alone, so that it can be done (and kept) before the catalogs
    of the other domains are known."""
    text = neutralise_jinja(sql)
    try:
        return _sqlglot_spans(text)
    except SqlglotError:
        # The tokenizer itself gave up (an unterminated string left by Jinja, say): scan it all.
        return _regex_spans(text, 0, len(text))


def matching(sql: str, spans: list[_Span], foreign: dict[str, str]) -> list[Bypass]:
    """The `spans` of `sql` whose first part is a foreign catalog, as Bypasses."""
    found: list[Bypass] = []
    seen: set[Bypass] = set()
    for start, end, head in sorted(tuple(s) for s in spans):
        if head not in foreign:
            continue
        bypass = Bypass(sql[start:end], foreign[head], sql.count("\n", 0, start) + 1)
        if bypass not in seen:
            seen.add(bypass)
            found.append(bypass)
    return found


class BypassCache:
    """candidates() by content (the SQL's hash), kept in a file between checks: parsing every model
    with sqlglot is most of a check's own work and depends on the SQL alone, so it can be done while
    dbt parses (warm()) and skipped when a file has not changed. Only what the last check asked for
    is kept."""

    VERSION = 2

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = {}
        known = stored.get("candidates") if isinstance(stored, dict) and stored.get("version") == self.VERSION else None
        self._known: dict[str, list[list[Any]]] = known if isinstance(known, dict) else {}
        self._asked: dict[str, list[list[Any]]] = {}
        self._lock = threading.Lock()

    def _spans(self, sql: str) -> list[list[Any]]:
        key = hashlib.sha256(sql.encode("utf-8")).hexdigest()
        with self._lock:
            spans = self._known.get(key)
        if spans is None:
            spans = [list(s) for s in candidates(sql)]
        with self._lock:
            self._known[key] = self._asked[key] = spans
        return spans

    def warm(self, sqls: Iterable[str]) -> None:
        """Work out the candidates of `sqls` ahead of find() (from another thread, say)."""
        for sql in sqls:
            if sql:
                self._spans(sql)

    def find(self, sql: str, foreign: dict[str, str]) -> list[Bypass]:
        if not foreign or not sql:
            return []
        return matching(sql, [tuple(s) for s in self._spans(sql)], foreign)

    def save(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            with self._lock:
                text = json.dumps({"version": self.VERSION, "candidates": self._asked})
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(self.path)
        except OSError:   # a cache: the next check parses again
            pass


# --- Jinja -----------------------------------------------------------------------------------

_JINJA = re.compile(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", re.S)
# config() renders to nothing; as a placeholder it would sit before `select` and break the parse.
_CONFIG = re.compile(r"\{\{-?\s*config\s*\(")


def neutralise_jinja(sql: str) -> str:
    """`sql` with Jinja replaced, keeping every character's offset (and so every line).

    An expression becomes an identifier of underscores (it renders to a relation or a value),
    statements and comments become spaces; newlines inside any of them stay.
    """
    def replace(match: re.Match[str]) -> str:
        tag = match.group(0)
        blank = re.sub(r"[^\n]", " ", tag)
        if not tag.startswith("{{") or _CONFIG.match(tag):
            return blank
        first = tag.split("\n", 1)[0]
        return "_" * len(first) + blank[len(first):]

    return _JINJA.sub(replace, sql)


# --- sqlglot -------------------------------------------------------------------------------

def _sqlglot_spans(text: str) -> list[_Span]:
    """Where relation names with a catalog (or schema) part are; a statement sqlglot can't parse is scanned."""
    dialect = sqlglot.Dialect.get_or_raise("duckdb")
    tokens = dialect.tokenize(text)
    spans: list[_Span] = []
    # Parse statement by statement so one unparseable statement doesn't hide the others.
    chunk: list[Token] = []
    chunk_start = 0
    for token in [*tokens, None]:
        if token is not None and token.token_type != TokenType.SEMICOLON:
            chunk.append(token)
            continue
        chunk_end = token.start if token is not None else len(text)
        if chunk:
            try:
                with _quiet_sqlglot():
                    statements = dialect.parser().parse(chunk, text)
            except SqlglotError:
                statements = []
            # A statement sqlglot keeps as raw text (exp.Command) hides its relations too.
            if not statements or any(isinstance(s, exp.Command) for s in statements):
                spans.extend(_regex_spans(text, chunk_start, chunk_end))
            else:
                for statement in statements:
                    if statement is not None:
                        spans.extend(_table_spans(statement))
        chunk = []
        chunk_start = chunk_end + 1
    return spans


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    # sqlglot logs a warning when it keeps a statement as a Command; that is handled here,
    # and would otherwise reach the user's terminal through logging's last-resort handler.
    logger = logging.getLogger("sqlglot")
    def drop(record: logging.LogRecord) -> bool:
        return False
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


def _table_spans(statement: exp.Expression) -> list[_Span]:
    spans = []
    for table in statement.find_all(exp.Table):
        catalog, db = table.args.get("catalog"), table.args.get("db")
        # A three-part name is catalog.schema.name; DuckDB also takes x.name as catalog x when
        # x is an attached catalog. One-part names (CTEs, own models) never are.
        head = catalog if isinstance(catalog, exp.Identifier) else db
        if not isinstance(head, exp.Identifier):
            continue
        start = head.meta.get("start")
        end = _end(table.this) or _end(db)
        if start is None or end is None:
            continue
        spans.append((start, end + 1, head.name.lower()))
    return spans


def _end(node: Optional[exp.Expression]) -> Optional[int]:
    if not isinstance(node, exp.Expression):
        return None
    if "end" in node.meta:
        return node.meta["end"]
    if isinstance(node, exp.Dot):
        return _end(node.expression)
    return None


# --- regex fallback ------------------------------------------------------------------------

_IDENT = r'"(?:[^"]|"")*"|[A-Za-z_][\w$]*'
_SCAN = re.compile(
    r"(?P<comment>--[^\n]*|/\*.*?(?:\*/|\Z))"
    r"|(?P<string>'(?:[^']|'')*(?:'|\Z)|\$(?P<tag>(?:[A-Za-z_]\w*)?)\$.*?(?:\$(?P=tag)\$|\Z))"
    rf"|(?P<name>(?<![\w$.])(?:{_IDENT})(?:\.(?:{_IDENT}))+)"
    rf"|(?P<word>{_IDENT})"
    r"|(?P<other>\S)",
    re.S,
)
_PART = re.compile(_IDENT)
_RELATION_KEYWORDS = {"from", "join"}
# Words after which "(" opens a query or a list, not a call like extract(year from orders.day).
_NOT_CALLS = {"from", "join", "in", "as", "exists", "lateral", "on", "where", "and", "or", "not",
              "select", "union", "intersect", "except", "all", "any", "some", "using", "with",
              "having", "when", "then", "else", "values", "into", "by", "over"}


def _regex_spans(text: str, start: int, end: int) -> list[_Span]:
    """Dotted names that could start with a catalog, outside comments and strings.

    Conservative, to avoid false alarms on columns: a three-part name is flagged anywhere
    (a column qualified by alias.struct.field is rare), a two-part one only right after FROM
    or JOIN outside a function call, since `orders.id` is usually a column of a relation
    aliased `orders`.
    """
    spans = []
    previous: Optional[str] = None
    calls: list[bool] = []   # one per open parenthesis: is it a function call's?
    for match in _SCAN.finditer(text, start, end):
        kind, token = match.lastgroup, match.group(0)
        if kind == "comment":
            continue
        if kind == "name":
            parts = _parts(token)
            relation = previous in _RELATION_KEYWORDS and not any(calls)
            if len(parts) == 3 or (len(parts) == 2 and relation):
                spans.append((*match.span(), parts[0]))
        elif token == "(":
            calls.append(previous is not None and previous not in _NOT_CALLS)
        elif token == ")" and calls:
            calls.pop()
        previous = token.lower() if kind == "word" else None
    return spans


def _parts(name: str) -> list[str]:
    """The lowercase, unquoted parts of a dotted name as written."""
    return [p[1:-1].replace('""', '"').lower() if p.startswith('"') else p.lower()
            for p in _PART.findall(name)]
