-- Every attributed order was touched on or before its order day, within the attribution window,
-- and by a campaign running on the day of the touch.
select a.order_id, a.touched_at, a.order_date, c.start_date, c.end_date
from {{ ref('int_attributed_orders') }} as a
join {{ ref('dim_campaigns') }} as c using (campaign_id)
where a.days_to_order < 0
   or a.days_to_order > {{ var('attribution_window_days') }}
   or cast(a.touched_at as date) not between c.start_date and c.end_date
