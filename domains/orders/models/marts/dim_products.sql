select
    cast(product_id as integer)                                 as product_id,
    cast(product_name as varchar)                               as product_name,
    cast(category as varchar)                                   as category,
    {{ mesh_macros.cents_to_dollars('list_price_cents') }}      as list_price
from {{ ref('stg_products') }}
