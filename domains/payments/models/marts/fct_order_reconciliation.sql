-- What each order should have brought in (orders domain) against what the processor says it did.
with orders as (
    select order_id, customer_id, order_date, status, order_total
    from {{ ref('orders', 'fct_orders') }}
),

reconciled as (
    select
        o.order_id,
        o.customer_id,
        o.order_date,
        o.status                                                        as order_status,
        o.order_total,
        case when o.status = 'cancelled' then 0 else o.order_total end  as amount_due,
        {{ mesh_macros.cents_to_dollars('coalesce(p.paid_cents, 0)') }}       as amount_paid,
        {{ mesh_macros.cents_to_dollars('coalesce(p.refunded_cents, 0)') }}   as amount_refunded,
        {{ mesh_macros.cents_to_dollars('coalesce(p.fee_cents, 0)') }}        as fees,
        coalesce(p.attempts, 0)                                         as payment_attempts,
        coalesce(p.failed_attempts, 0)                                  as failed_attempts,
        p.settled_on
    from orders as o
    left join {{ ref('int_order_payments') }} as p using (order_id)
)

select
    cast(order_id as integer)                                       as order_id,
    cast(customer_id as integer)                                    as customer_id,
    cast(order_date as date)                                        as order_date,
    cast(order_status as varchar)                                   as order_status,
    cast(order_total as decimal(18, 2))                             as order_total,
    cast(amount_paid as decimal(18, 2))                             as amount_paid,
    cast(amount_refunded as decimal(18, 2))                         as amount_refunded,
    cast(fees as decimal(18, 2))                                    as fees,
    cast(amount_paid - amount_refunded - fees as decimal(18, 2))    as net_revenue,
    cast(amount_due - amount_paid as decimal(18, 2))                as balance_due,
    cast(payment_attempts as integer)                               as payment_attempts,
    cast(failed_attempts as integer)                                as failed_attempts,
    cast(
        case
            when order_status = 'cancelled' then 'void'
            when amount_paid = 0 then 'unpaid'
            when amount_paid < amount_due then 'partially_paid'
            when amount_refunded >= amount_paid then 'refunded'
            when amount_refunded > 0 then 'partially_refunded'
            else 'paid'
        end as varchar)                                             as payment_status,
    cast(amount_paid >= amount_due as boolean)                      as is_fully_paid,
    cast(settled_on as date)                                        as settled_on
from reconciled
