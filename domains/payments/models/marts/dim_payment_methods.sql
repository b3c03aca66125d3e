with usage as (
    select
        payment_method,
        count(*)                                        as attempts,
        count(*) filter (where status = 'succeeded')    as successes
    from {{ ref('stg_payments') }}
    group by payment_method
)

select
    f.payment_method,
    f.fee_percent,
    {{ mesh_macros.cents_to_dollars('f.fee_fixed_cents') }}                     as fee_fixed,
    f.settlement_days,
    coalesce(u.attempts, 0)                                                     as attempts,
    cast({{ mesh_macros.round_to(mesh_macros.safe_divide('u.successes', 'u.attempts'), 4) }} as double precision) as success_rate
from {{ ref('stg_payment_fees') }} as f
left join usage as u using (payment_method)
