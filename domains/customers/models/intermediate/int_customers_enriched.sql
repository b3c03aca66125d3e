-- Personal data ends here: downstream models only see the masked email.
select
    c.customer_id,
    {{ mesh_macros.mask_email('c.email') }}     as email_masked,
    {{ mesh_macros.email_domain('c.email') }}   as email_domain,
    c.country_code,
    n.country_name,
    n.region,
    c.segment,
    c.signup_date,
    date_trunc('month', c.signup_date)::date    as signup_month
from {{ ref('stg_customers') }} as c
left join {{ ref('stg_countries') }} as n using (country_code)
