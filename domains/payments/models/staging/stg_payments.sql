select
    cast(id as integer)                 as payment_id,
    cast(order_id as integer)           as order_id,
    lower(trim(payment_method))         as payment_method,
    lower(trim(status))                 as status,
    cast(amount_cents as bigint)        as amount_cents,
    cast(created_at as timestamp)       as created_at
from {{ ref('raw_payments') }}
