-- Version 2 of the orders data product: exact decimal total, status, channel and timestamps.
select
    cast(order_id as integer)                                   as order_id,
    cast(customer_id as integer)                                as customer_id,
    cast(customer_region as varchar)                            as customer_region,
    cast(ordered_at as timestamp)                               as ordered_at,
    cast(order_date as date)                                    as order_date,
    cast(status as varchar)                                     as status,
    cast(channel as varchar)                                    as channel,
    cast(item_count as integer)                                 as item_count,
    {{ mesh_macros.cents_to_dollars('order_total_cents') }}      as order_total,
    {{ mesh_macros.cents_to_dollars('discount_cents') }}        as discount_total
from {{ ref('int_orders_enriched') }}
