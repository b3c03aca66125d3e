select
    cast(campaign_id as integer)                            as campaign_id,
    cast(campaign_name as varchar)                          as campaign_name,
    cast(channel as varchar)                                as channel,
    cast(start_date as date)                                as start_date,
    cast(end_date as date)                                  as end_date,
    cast(end_date - start_date + 1 as integer)              as duration_days,
    {{ mesh_macros.cents_to_dollars('budget_cents') }}      as budget
from {{ ref('stg_campaigns') }}
