"""find_bypasses: SQL that names another domain's relation instead of ref()-ing it."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mesh_cli.governance.bypass import Bypass, BypassCache, find_bypasses, neutralise_jinja

# The file under test belongs to `sales`, so sales is never in foreign. `mkt` shows that the
# domain reported is the owner from the mapping, not the catalog name.
FOREIGN = {"orders": "orders", "billing": "billing", "mkt": "marketing"}

CASES = [
    # --- what is a bypass -----------------------------------------------------------------
    ("quoted-3-part", 'select * from "orders"."main"."fct_orders"',
     [('"orders"."main"."fct_orders"', "orders", 1)]),
    ("unquoted-3-part", "select * from orders.main.fct_orders",
     [("orders.main.fct_orders", "orders", 1)]),
    ("2-part", "select * from orders.fct_orders",
     [("orders.fct_orders", "orders", 1)]),
    ("quoted-2-part", 'select * from "billing"."invoices"',
     [('"billing"."invoices"', "billing", 1)]),
    ("mixed-case", "select * from Orders.MAIN.Fct_Orders",
     [("Orders.MAIN.Fct_Orders", "orders", 1)]),
    ("quoted-upper-catalog", 'select * from "ORDERS".main.fct_orders',
     [('"ORDERS".main.fct_orders', "orders", 1)]),
    ("owner-from-mapping", "select * from mkt.main.campaigns",
     [("mkt.main.campaigns", "marketing", 1)]),
    ("aliased", "select o.id from orders.main.fct_orders as o",
     [("orders.main.fct_orders", "orders", 1)]),
    ("subquery-in-where", "select * from {{ ref('stg') }} s\nwhere s.id in (select id from billing.main.invoices)",
     [("billing.main.invoices", "billing", 2)]),
    ("cte-does-not-shadow-3-part", "with orders as (select 1 as id)\nselect * from orders.main.fct_orders",
     [("orders.main.fct_orders", "orders", 2)]),
    ("spaces-around-dots", "select * from orders . main . fct_orders",
     [("orders . main . fct_orders", "orders", 1)]),
    ("jinja-inside-name", "select * from orders.{{ var('schema') }}.fct_orders",
     [("orders.{{ var('schema') }}.fct_orders", "orders", 1)]),
    # --- what is not ----------------------------------------------------------------------
    ("ref", "select * from {{ ref('orders', 'fct_orders') }}", []),
    ("ref-with-version", "select * from {{ ref('orders', 'fct_orders', v=2) }} o", []),
    ("source", "select * from {{ source('raw', 'orders') }}", []),
    ("own-domain", "select * from sales.main.fct_sales join sales.stg_sales using (id)", []),
    ("schema-only", "select * from main.fct_orders", []),
    ("one-part", "select * from orders", []),
    ("cte-named-like-domain",
     "with orders as (select * from {{ ref('orders', 'fct_orders') }})\nselect * from orders", []),
    ("alias-named-like-domain",
     "select orders.id, billing.total\nfrom {{ ref('orders', 'fct_orders') }} as orders\n"
     "join {{ ref('billing', 'invoices') }} billing on orders.id = billing.order_id", []),
    ("line-comment", "select 1 -- from orders.main.fct_orders", []),
    ("block-comment", "select 1 /* orders.main.fct_orders\n billing.main.invoices */", []),
    ("string-literal", "select 'orders.main.fct_orders' as name, 'billing.invoices' as other", []),
    ("jinja-comment", "{# select * from orders.main.fct_orders #}\nselect 1", []),
    ("jinja-statement", "{% set rel = 'orders.main.fct_orders' %}\nselect 1", []),
    ("lookalike-catalog", "select * from orders_archive.main.fct_orders", []),
    ("table-function", "select * from read_parquet('orders/main/fct_orders.parquet')", []),
    # --- Jinja and line numbers -----------------------------------------------------------
    ("config-then-bypass",
     "{{ config(materialized='table') }}\n\nselect *\nfrom orders.main.fct_orders",
     [("orders.main.fct_orders", "orders", 4)]),
    ("if-block",
     "select * from {{ ref('stg_sales') }}\n"
     "{% if is_incremental() %}\n"
     "where updated_at > (select max(updated_at) from billing.main.invoices)\n"
     "{% endif %}",
     [("billing.main.invoices", "billing", 3)]),
    ("multi-line-jinja-keeps-lines",
     "{%- set cols = [\n  'a',\n  'b',\n] -%}\n{#\n  a comment\n#}\nselect *\nfrom {{ ref(\n  'orders',\n  'fct_orders'\n) }} o\n"
     "join orders.dim_customers c on o.customer_id = c.id",
     [("orders.dim_customers", "orders", 13)]),
    ("joins-and-statements",
     "select *\n"
     "from orders.main.fct_orders o\n"
     "join {{ ref('stg_sales') }} s on s.order_id = o.id\n"
     "left join \"billing\".\"main\".\"invoices\" i on i.order_id = o.id;\n"
     "\n"
     "select * from MKT.campaigns",
     [("orders.main.fct_orders", "orders", 2), ('"billing"."main"."invoices"', "billing", 4),
      ("MKT.campaigns", "marketing", 6)]),
    ("same-relation-twice-on-a-line",
     "select * from orders.main.f a join orders.main.f b on a.id = b.id\nunion all select * from orders.main.f",
     [("orders.main.f", "orders", 1), ("orders.main.f", "orders", 2)]),
    # --- regex fallback: statements sqlglot can't parse once Jinja is gone ---------------
    ("fallback-if-else",
     "select *\n{% if target.name == 'prod' %}\nfrom orders.main.fct_orders\n{% else %}\nfrom orders.fct_orders\n{% endif %}",
     [("orders.main.fct_orders", "orders", 3), ("orders.fct_orders", "orders", 5)]),
    ("fallback-skips-columns-comments-strings",
     "select orders.id, extract(year from orders.created_at) as y, 'orders.main.x' as s\n"
     "-- from orders.main.fct_orders\n"
     "/* from billing.invoices */\n"
     "{% if a %} from {{ ref('orders', 'fct_orders') }} orders {% else %} from b {% endif %}\n"
     "join billing.invoices i on true",
     [("billing.invoices", "billing", 5)]),
    ("fallback-dollar-string",
     "select $$ orders.main.fct_orders $$ as s {% if a %} from x {% else %} from y {% endif %}", []),
    ("fallback-only-broken-statement",
     "select * from a {% if x %} from b {% endif %} join orders.main.f on true;\n"
     "select orders.id from {{ ref('orders', 'f') }} orders join billing.invoices i on true",
     [("orders.main.f", "orders", 1), ("billing.invoices", "billing", 2)]),
    ("fallback-command-statement",
     "select 1;\ncall orders.main.refresh_orders()",
     [("orders.main.refresh_orders", "orders", 2)]),
    ("fallback-unterminated-string",
     "select * from orders.main.fct_orders\nwhere x = 'unterminated from billing.invoices",
     [("orders.main.fct_orders", "orders", 1)]),
]


@pytest.mark.parametrize("sql,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_find_bypasses(sql: str, expected: list[tuple[str, str, int]]) -> None:
    assert find_bypasses(sql, FOREIGN) == [Bypass(*e) for e in expected]


def test_sqlglot_warnings_silenced(caplog: pytest.LogCaptureFixture) -> None:
    # sqlglot warns when it keeps a statement as a raw Command; `mesh check` must not print it.
    with caplog.at_level("DEBUG"):
        find_bypasses("call orders.main.refresh_orders()", FOREIGN)
    assert caplog.records == []


def test_nothing_foreign() -> None:
    assert find_bypasses("select * from orders.main.fct_orders", {}) == []


def test_empty_sql() -> None:
    assert find_bypasses("", FOREIGN) == []


def test_bypass_is_frozen() -> None:
    bypass = Bypass("orders.f", "orders", 1)
    with pytest.raises(AttributeError):
        bypass.line = 2  # type: ignore[misc]


@pytest.mark.parametrize("sql,expected", [
    ("from {{ ref('a') }} x", "from ______________ x"),
    ("{% if a %}x{% endif %}", "          x           "),
    ("a {# c\nd #} b", "a     \n     b"),
    ("{{ config(x=1) }}select", "                 select"),
    ("{{-\nref('a') }}", "___\n           "),
])
def test_neutralise_jinja_keeps_offsets(sql: str, expected: str) -> None:
    assert neutralise_jinja(sql) == expected
    assert len(neutralise_jinja(sql)) == len(sql)


def test_the_cache_reads_sql_before_the_catalogs_are_known_and_answers_for_any_of_them(tmp_path: Path) -> None:
    """The check reads the SQL while dbt parses (warm), before it knows every domain's catalogs."""
    sql = "select * from orders.main.fct_orders join {{ ref('stg') }} using (id)\nunion all select * from crm.main.people"
    cache = BypassCache(tmp_path / "bypasses.json")
    cache.warm([sql])
    assert cache.find(sql, {"orders": "orders"}) == [Bypass("orders.main.fct_orders", "orders", 1)]
    assert cache.find(sql, {"crm": "customers"}) == [Bypass("crm.main.people", "customers", 2)]
    assert cache.find(sql, {}) == []
    cache.save()
    again = BypassCache(tmp_path / "bypasses.json")   # from the file: no parse needed, same answers
    assert again.find(sql, FOREIGN) == find_bypasses(sql, FOREIGN)
    assert json.loads((tmp_path / "bypasses.json").read_text())["version"] == BypassCache.VERSION


def test_a_cache_file_of_another_version_is_ignored(tmp_path: Path) -> None:
    sql = "select * from orders.main.fct_orders"
    path = tmp_path / "bypasses.json"
    key = hashlib.sha256(sql.encode("utf-8")).hexdigest()
    path.write_text(json.dumps({key: [["x", "y", 9]]}))   # the first version's layout
    assert BypassCache(path).find(sql, FOREIGN) == [Bypass("orders.main.fct_orders", "orders", 1)]
