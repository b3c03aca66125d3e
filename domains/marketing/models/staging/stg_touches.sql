select
    cast(id as integer)             as touch_id,
    cast(customer_id as integer)    as customer_id,
    cast(campaign_id as integer)    as campaign_id,
    cast(touched_at as timestamp)   as touched_at,
    lower(trim(touch_type))         as touch_type
from {{ ref('raw_touches') }}
