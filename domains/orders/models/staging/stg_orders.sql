select
    cast(id as integer)             as order_id,
    cast(customer_id as integer)    as customer_id,
    cast(ordered_at as timestamp)   as ordered_at,
    cast(ordered_at as date)        as order_date,
    lower(trim(status))             as status,
    lower(trim(channel))            as channel
from {{ ref('raw_orders') }}
