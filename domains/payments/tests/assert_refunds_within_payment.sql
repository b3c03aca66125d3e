-- A payment can never be refunded more than it charged, and only successful payments are refunded.
select payment_id, status, amount, refunded_amount
from {{ ref('fct_payments') }}
where refunded_amount > amount
   or (status <> 'succeeded' and refunded_amount > 0)
