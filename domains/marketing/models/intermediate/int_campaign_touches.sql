select
    campaign_id,
    count(*)                                        as touches,
    count(*) filter (where touch_type = 'click')    as clicks,
    count(distinct customer_id)                     as customers_reached,
    min(touched_at)                                 as first_touch_at,
    max(touched_at)                                 as last_touch_at
from {{ ref('stg_touches') }}
group by campaign_id
