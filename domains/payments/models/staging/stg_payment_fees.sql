select
    lower(trim(payment_method))         as payment_method,
    cast(fee_percent as double precision)         as fee_percent,
    cast(fee_fixed_cents as bigint)     as fee_fixed_cents,
    cast(settlement_days as integer)    as settlement_days
from {{ ref('raw_payment_fees') }}
