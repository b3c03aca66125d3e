-- Marketing segments per customer. Recency is measured against the last order day in the data
-- rather than today, so the segments are reproducible.
with customers as (
    select customer_id, email_masked, region, segment
    from {{ ref('customers', 'dim_customers') }}
),

revenue as (
    select * from {{ ref('int_customer_revenue') }}
),

as_of as (
    select max(last_order_date) as as_of_date from revenue
),

touches as (
    select
        t.customer_id,
        c.channel,
        row_number() over (partition by t.customer_id order by t.touched_at desc, t.touch_id desc) as recency
    from {{ ref('stg_touches') }} as t
    join {{ ref('stg_campaigns') }} as c using (campaign_id)
),

-- A window filter in a CTE rather than QUALIFY, which PostgreSQL does not have.
last_touch as (
    select customer_id, channel from touches where recency = 1
)

select
    cast(c.customer_id as integer)                                      as customer_id,
    cast(c.email_masked as varchar)                                     as email_masked,
    cast(c.region as varchar)                                           as region,
    cast(c.segment as varchar)                                          as customer_segment,
    cast(coalesce(r.order_count, 0) as integer)                         as order_count,
    cast(coalesce(r.lifetime_net_revenue, 0) as decimal(18, 2))         as lifetime_net_revenue,
    cast(r.last_order_date as date)                                     as last_order_date,
    cast(lt.channel as varchar)                                         as last_touch_channel,
    cast(
        case
            when coalesce(r.order_count, 0) = 0 then 'prospect'
            when a.as_of_date - r.last_order_date > 120 then 'at_risk'
            when r.order_count >= 3 then 'champion'
            when r.order_count = 2 then 'loyal'
            else 'new'
        end as varchar)                                                 as marketing_segment
from customers as c
cross join as_of as a
left join revenue as r using (customer_id)
left join last_touch as lt using (customer_id)
