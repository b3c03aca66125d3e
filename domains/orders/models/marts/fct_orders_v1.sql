-- Version 1 of the orders data product (deprecated): amount in dollars as a double.
select
    cast(order_id as integer)                                              as order_id,
    cast(customer_id as integer)                                           as customer_id,
    cast(order_date as date)                                               as order_date,
    cast({{ mesh_macros.cents_to_dollars('order_total_cents') }} as double precision) as amount
from {{ ref('int_orders_enriched') }}
