"""Which columns of a relation a query reads: a truth table for columns_read."""
from __future__ import annotations

from typing import Optional

import pytest

from mesh_cli.contracts.columns import columns_read

REL = '"shop"."main"."fct_orders"'


@pytest.mark.parametrize("sql, known, expected", [
    ('select order_id, amount from "shop"."main"."fct_orders"', [], {"order_id", "amount"}),
    ("select order_id from shop.main.fct_orders where discount > 0", [], {"order_id", "discount"}),
    ("select o.order_id from shop.main.fct_orders o join x.main.y z on z.id = o.store_id", [], {"order_id", "store_id"}),
    ("select z.id from shop.main.fct_orders o join x.main.y z on z.id = o.store_id", [], {"store_id"}),
    ("with o as (select * from shop.main.fct_orders) select o.order_id from o", ["order_id", "discount"], {"order_id"}),
    ("with o as (select * from shop.main.fct_orders) select * from o", ["order_id", "discount"], {"order_id", "discount"}),
    ("select * from shop.main.fct_orders", [], None),
    ("select count(*) as n from shop.main.fct_orders", [], set()),
    ("select id from other.main.thing", ["order_id"], set()),
    ("select id, status from shop.main.fct_orders o join x.main.y z using (id)", ["order_id", "status"], {"status"}),
    ("select sum(amount) over (partition by customer_id) from shop.main.fct_orders", [], {"amount", "customer_id"}),
    ("select ORDER_ID from shop.main.fct_orders", ["order_id"], {"order_id"}),
    ("this is not sql (", [], None),
])
def test_columns_read(sql: str, known: list[str], expected: Optional[set[str]]) -> None:
    assert columns_read(sql, REL, known) == expected
