-- Campaign performance must account for every attributed order exactly once.
select *
from (
    select
        (select count(*) from {{ ref('int_attributed_orders') }})               as attributed_rows,
        (select sum(attributed_orders) from {{ ref('fct_campaign_performance') }}) as attributed_orders
) as totals
where attributed_rows <> attributed_orders
