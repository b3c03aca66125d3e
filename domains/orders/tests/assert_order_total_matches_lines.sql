-- The order total of the data product must equal the sum of the order's lines.
with lines as (
    select order_id, sum(line_total_cents) as cents
    from {{ ref('int_order_items_priced') }}
    group by order_id
)
select o.order_id, o.order_total, lines.cents
from {{ ref('fct_orders') }} as o
left join lines using (order_id)
where o.order_total <> coalesce(lines.cents, 0) / 100.0
