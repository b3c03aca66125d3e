select
    upper(trim(country_code))  as country_code,
    trim(country_name)         as country_name,
    trim(region)               as region
from {{ ref('raw_countries') }}
