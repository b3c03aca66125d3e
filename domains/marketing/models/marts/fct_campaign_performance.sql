with attributed as (
    select
        campaign_id,
        count(*)        as attributed_orders,
        sum(amount)     as attributed_revenue
    from {{ ref('int_attributed_orders') }}
    group by campaign_id
)

select
    cast(c.campaign_id as integer)                                          as campaign_id,
    cast(c.campaign_name as varchar)                                        as campaign_name,
    cast(c.channel as varchar)                                              as channel,
    {{ mesh_macros.cents_to_dollars('c.budget_cents') }}                    as budget,
    cast(coalesce(t.touches, 0) as bigint)                                  as touches,
    cast(coalesce(t.clicks, 0) as bigint)                                   as clicks,
    cast(coalesce(t.customers_reached, 0) as bigint)                        as customers_reached,
    cast(coalesce(a.attributed_orders, 0) as bigint)                        as attributed_orders,
    cast(coalesce(a.attributed_revenue, 0) as decimal(18, 2))               as attributed_revenue,
    cast({{ mesh_macros.round_to(mesh_macros.safe_divide('c.budget_cents / 100.0', 'a.attributed_orders'), 2) }} as double precision)
                                                                            as cost_per_order,
    cast({{ mesh_macros.round_to(mesh_macros.safe_divide('a.attributed_revenue', 'c.budget_cents / 100.0'), 4) }} as double precision)
                                                                            as return_on_ad_spend
from {{ ref('stg_campaigns') }} as c
left join {{ ref('int_campaign_touches') }} as t using (campaign_id)
left join attributed as a using (campaign_id)
