select
    order_id,
    count(*)                                                                    as attempts,
    count(*) filter (where status = 'failed')                                   as failed_attempts,
    cast(coalesce(sum(amount_cents) filter (where status = 'succeeded'), 0) as bigint) as paid_cents,
    cast(sum(refunded_cents) as bigint)                                         as refunded_cents,
    cast(sum(fee_cents) as bigint)                                              as fee_cents,
    max(created_at) filter (where status = 'succeeded')                         as last_paid_at,
    max(settled_on)                                                             as settled_on
from {{ ref('int_payments_enriched') }}
group by order_id
