select
    cast(payment_id as integer)                                                         as payment_id,
    cast(order_id as integer)                                                           as order_id,
    cast(payment_method as varchar)                                                     as payment_method,
    cast(status as varchar)                                                             as status,
    {{ mesh_macros.cents_to_dollars('amount_cents') }}                                  as amount,
    {{ mesh_macros.cents_to_dollars('refunded_cents') }}                                as refunded_amount,
    {{ mesh_macros.cents_to_dollars('fee_cents') }}                                     as fee,
    {{ mesh_macros.cents_to_dollars(
        "case when status = 'succeeded' then amount_cents - refunded_cents - fee_cents else 0 end"
    ) }}                                                                                as net_amount,
    cast(created_at as timestamp)                                                       as created_at,
    cast(settled_on as date)                                                            as settled_on
from {{ ref('int_payments_enriched') }}
