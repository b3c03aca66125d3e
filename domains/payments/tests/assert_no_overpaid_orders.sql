-- No order may have been charged more than its total: that would be a double charge.
select order_id, order_total, amount_paid
from {{ ref('fct_order_reconciliation') }}
where amount_paid > order_total
