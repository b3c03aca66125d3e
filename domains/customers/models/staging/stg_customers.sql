select
    cast(id as integer)                  as customer_id,
    trim(first_name)                     as first_name,
    trim(last_name)                      as last_name,
    lower(trim(email))                   as email,
    upper(trim(country_code))            as country_code,
    cast(signup_date as date)            as signup_date,
    lower(trim(segment))                 as segment
from {{ ref('raw_customers') }}
