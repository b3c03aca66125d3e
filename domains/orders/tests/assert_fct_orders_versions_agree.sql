-- Both versions of fct_orders describe the same orders with the same totals while v1 lives.
select coalesce(v1.order_id, v2.order_id) as order_id, v1.amount, v2.order_total
from {{ ref('fct_orders', v=1) }} as v1
full outer join {{ ref('fct_orders', v=2) }} as v2 using (order_id)
where v1.order_id is null
   or v2.order_id is null
   or abs(v1.amount - cast(v2.order_total as double precision)) > 0.005
