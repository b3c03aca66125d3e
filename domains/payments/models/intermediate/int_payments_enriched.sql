with refunds as (
    select payment_id, cast(sum(amount_cents) as bigint) as refunded_cents, max(refunded_at) as last_refunded_at
    from {{ ref('stg_refunds') }}
    group by payment_id
)

select
    p.payment_id,
    p.order_id,
    p.payment_method,
    p.status,
    p.created_at,
    p.amount_cents,
    coalesce(r.refunded_cents, 0)                                       as refunded_cents,
    -- Processors only charge fees on successful payments.
    case when p.status = 'succeeded'
        then cast(round(p.amount_cents * f.fee_percent / 100) as bigint) + f.fee_fixed_cents
        else 0
    end                                                                 as fee_cents,
    case when p.status = 'succeeded'
        then cast(p.created_at as date) + f.settlement_days
    end                                                                 as settled_on,
    r.last_refunded_at
from {{ ref('stg_payments') }} as p
left join {{ ref('stg_payment_fees') }} as f using (payment_method)
left join refunds as r using (payment_id)
