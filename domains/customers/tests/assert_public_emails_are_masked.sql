-- The public customer product must never carry a raw email: every value must be
-- "<32 hex chars of md5>@<domain>" and none may equal an address of the CRM export.
select d.customer_id, d.email_masked
from {{ ref('dim_customers') }} as d
where not {{ mesh_macros.full_match('d.email_masked', "'[0-9a-f]{32}@[a-z0-9.-]+'") }}
   or lower(d.email_masked) in (select lower(email) from {{ ref('raw_customers') }})
