select
    cast(id as integer)                 as product_id,
    trim(name)                          as product_name,
    lower(trim(category))               as category,
    cast(list_price_cents as bigint)    as list_price_cents
from {{ ref('raw_products') }}
