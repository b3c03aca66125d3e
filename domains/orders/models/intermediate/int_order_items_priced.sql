select
    i.order_item_id,
    i.order_id,
    i.product_id,
    p.product_name,
    p.category,
    i.quantity,
    i.unit_price_cents,
    p.list_price_cents,
    i.quantity * i.unit_price_cents                           as line_total_cents,
    i.quantity * (p.list_price_cents - i.unit_price_cents)    as discount_cents
from {{ ref('stg_order_items') }} as i
join {{ ref('stg_products') }} as p using (product_id)
