select
    signup_month,
    region,
    segment,
    count(*)                                          as signups,
    sum(count(*)) over (
        partition by region, segment order by signup_month
    )                                                 as cumulative_signups
from {{ ref('int_customers_enriched') }}
group by signup_month, region, segment
