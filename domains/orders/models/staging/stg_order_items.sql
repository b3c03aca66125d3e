select
    cast(id as integer)                 as order_item_id,
    cast(order_id as integer)           as order_id,
    cast(product_id as integer)         as product_id,
    cast(quantity as integer)           as quantity,
    cast(unit_price_cents as bigint)    as unit_price_cents
from {{ ref('raw_order_items') }}
