"""The SQL of the synthetic models: one template per model kind (see generate.py).

Kept apart from generate.py so the spec (which models, which refs) and the SQL they run can be read
separately; `render_sql` takes a `ref` callable, so the mesh and the monolith render the same SQL."""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:   # generate.py imports this module: only the types, to avoid a cycle
    from generate import Input, Model

CATEGORIES = ("books", "games", "garden", "music", "sports", "tools")

Ref = Callable[["Input"], str]


def render_sql(model: "Model", ref: Ref) -> str:
    """The model's SQL; `ref` renders an input as `{{ ref(...) }}` for the mesh or the monolith."""
    v = model.variant
    src = [ref(i) for i in model.inputs]
    if model.kind == "clean":
        return (f"select\n    cast(id as integer) as event_id,\n    cast(customer_id as integer) as customer_id,\n"
                f"    lower(category) as category,\n    cast(amount as double) as amount,\n"
                f"    cast(created_at as date) as event_date\nfrom {src[0]}\n"
                f"where amount is not null and id % {v + 7} <> 0\n")
    if model.kind == "dedup":
        return (f"with ranked as (\n    select *, row_number() over (partition by customer_id, created_at "
                f"order by amount desc, id) as rn\n    from {src[0]}\n)\n"
                f"select\n    cast(id as integer) as event_id,\n    cast(customer_id as integer) as customer_id,\n"
                f"    lower(category) as category,\n    cast(amount as double) as amount,\n"
                f"    cast(created_at as date) as event_date\nfrom ranked\nwhere rn = 1\n")
    if model.kind == "window":
        return (f"with windowed as (\n    select\n        *,\n"
                f"        sum(amount) over (partition by customer_id order by event_date, event_id\n"
                f"            rows between unbounded preceding and current row) as running_amount,\n"
                f"        lag(amount) over (partition by customer_id order by event_date, event_id) as previous_amount,\n"
                f"        rank() over (partition by category order by amount desc) as category_rank\n"
                f"    from {src[0]}\n)\n"
                f"select event_id, customer_id, category,\n"
                f"    (amount + coalesce(previous_amount, amount)) / 2 as amount, event_date\n"
                f"from windowed\nwhere category_rank > {v % 5} or running_amount > {50 * (v + 1)}\n")
    if model.kind == "aggregate":
        return (f"select\n    customer_id,\n    count(*) as n_events,\n    sum(amount) as total_amount,\n"
                f"    avg(amount) as avg_amount,\n    max(event_date) as last_event_date,\n"
                f"    case when sum(amount) > {1000 + 100 * v} then 'high' else 'low' end as segment\n"
                f"from {src[0]}\nwhere category <> '{CATEGORIES[v % len(CATEGORIES)]}'\ngroup by customer_id\n")
    if model.kind == "enrich":
        return (f"select\n    e.event_id,\n    e.customer_id,\n    e.category,\n"
                f"    e.amount * case when c.segment in ('high', 'gold') then 1.05 else 1.0 end as amount,\n"
                f"    e.event_date\nfrom {src[0]} as e\nleft join {src[1]} as c on c.customer_id = e.customer_id\n")
    if model.kind == "combine":
        return (f"select\n    a.customer_id,\n    a.n_events + coalesce(b.n_events, 0) as n_events,\n"
                f"    a.total_amount + coalesce(b.total_amount, 0) as total_amount,\n"
                f"    (a.avg_amount + coalesce(b.avg_amount, a.avg_amount)) / 2 as avg_amount,\n"
                f"    greatest(a.last_event_date, coalesce(b.last_event_date, a.last_event_date)) as last_event_date,\n"
                f"    a.segment\nfrom {src[0]} as a\nleft join {src[1]} as b on b.customer_id = a.customer_id\n")
    if model.kind == "publish":
        return ("{{ config(materialized='table') }}\n"
                f"select\n    cast(customer_id as integer) as customer_id,\n    cast(n_events as bigint) as n_events,\n"
                f"    cast(total_amount as double) as total_amount,\n    cast(avg_amount as double) as avg_amount,\n"
                f"    cast(last_event_date as date) as last_event_date,\n"
                f"    cast(case ntile(4) over (order by total_amount desc, customer_id) when 1 then 'gold'\n"
                f"        when 2 then 'silver' else 'bronze' end as varchar) as segment\n"
                f"from {src[0]}\nwhere customer_id is not null\n")
    raise ValueError(f"unknown model kind {model.kind}")
