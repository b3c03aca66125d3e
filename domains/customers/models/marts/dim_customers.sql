select
    cast(customer_id as integer)                  as customer_id,
    cast(email_masked as varchar)                 as email_masked,
    cast(email_domain as varchar)                 as email_domain,
    cast(country_code as varchar)                 as country_code,
    cast(country_name as varchar)                 as country_name,
    cast(region as varchar)                       as region,
    cast(segment as varchar)                      as segment,
    cast(segment = 'business' as boolean)         as is_business,
    cast(signup_date as date)                     as signup_date
from {{ ref('int_customers_enriched') }}
