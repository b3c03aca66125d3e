-- Last-touch attribution: each order goes to the customer's latest campaign touch in the
-- attribution window before the order day.
-- Still reads version 1 of orders.fct_orders (order_date and amount only). Version 1 has no
-- status, so cancelled orders are attributed too; migrate to version 2 (order_total, status)
-- before v1's deprecation date.
with orders as (
    select order_id, customer_id, order_date, amount
    from {{ ref('orders', 'fct_orders', v=1) }}
),

touches as (
    select t.touch_id, t.customer_id, t.campaign_id, t.touched_at, t.touch_type, c.channel
    from {{ ref('stg_touches') }} as t
    join {{ ref('stg_campaigns') }} as c using (campaign_id)
),

-- The latest touch per order, filtered in a CTE rather than with QUALIFY (not in PostgreSQL).
ranked as (
    select
        o.order_id,
        o.customer_id,
        o.order_date,
        o.amount,
        t.touch_id,
        t.campaign_id,
        t.channel,
        t.touch_type,
        t.touched_at,
        o.order_date - cast(t.touched_at as date)   as days_to_order,
        row_number() over (partition by o.order_id order by t.touched_at desc, t.touch_id desc) as recency
    from orders as o
    join touches as t
      on t.customer_id = o.customer_id
     and cast(t.touched_at as date) <= o.order_date
     and cast(t.touched_at as date) >= o.order_date - {{ var('attribution_window_days') }}
)

select
    order_id, customer_id, order_date, amount, touch_id, campaign_id, channel, touch_type, touched_at,
    days_to_order
from ranked
where recency = 1
