select
    cast(id as integer)                 as refund_id,
    cast(payment_id as integer)         as payment_id,
    cast(amount_cents as bigint)        as amount_cents,
    lower(trim(reason))                 as reason,
    cast(refunded_at as timestamp)      as refunded_at
from {{ ref('raw_refunds') }}
