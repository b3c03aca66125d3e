-- Sales per day and customer region; cancelled orders are not sales.
select
    order_date,
    customer_region,
    count(*)                                                            as orders,
    cast(sum(units) as bigint)                                          as units,
    {{ mesh_macros.cents_to_dollars('sum(order_total_cents)') }}        as revenue,
    cast({{ mesh_macros.round_to(mesh_macros.safe_divide('sum(order_total_cents)', 'count(*)') ~ ' / 100', 2) }} as double precision)
                                                                        as avg_order_value
from {{ ref('int_orders_enriched') }}
where status <> 'cancelled'
group by order_date, customer_region
