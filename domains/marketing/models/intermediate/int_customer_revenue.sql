-- Lifetime value per customer from finance's reconciliation (money actually kept, net of
-- refunds and fees), not from order totals.
select
    customer_id,
    count(*) filter (where order_status <> 'cancelled')     as order_count,
    cast(sum(net_revenue) as decimal(18, 2))                as lifetime_net_revenue,
    min(order_date)                                         as first_order_date,
    max(order_date)                                         as last_order_date
from {{ ref('payments', 'fct_order_reconciliation') }}
group by customer_id
