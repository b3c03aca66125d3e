select
    cast(id as integer)             as campaign_id,
    trim(name)                      as campaign_name,
    lower(trim(channel))            as channel,
    cast(start_date as date)        as start_date,
    cast(end_date as date)          as end_date,
    cast(budget_cents as bigint)    as budget_cents
from {{ ref('raw_campaigns') }}
