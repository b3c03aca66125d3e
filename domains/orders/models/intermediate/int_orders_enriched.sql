with totals as (
    select
        order_id,
        count(*)                                as item_count,
        cast(sum(quantity) as bigint)           as units,
        cast(sum(line_total_cents) as bigint)   as order_total_cents,
        cast(sum(discount_cents) as bigint)     as discount_cents
    from {{ ref('int_order_items_priced') }}
    group by order_id
),

customers as (
    -- Public data product of the CRM domain.
    select customer_id, region, segment
    from {{ ref('customers', 'dim_customers') }}
)

select
    o.order_id,
    o.customer_id,
    c.region                                  as customer_region,
    c.segment                                 as customer_segment,
    o.ordered_at,
    o.order_date,
    o.status,
    o.channel,
    coalesce(t.item_count, 0)                 as item_count,
    coalesce(t.units, 0)                      as units,
    coalesce(t.order_total_cents, 0)          as order_total_cents,
    coalesce(t.discount_cents, 0)             as discount_cents
from {{ ref('stg_orders') }} as o
left join totals as t using (order_id)
left join customers as c using (customer_id)
