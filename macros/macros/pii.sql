{#- The mesh's masking convention for personal data (columns with meta pii: true).
    An email keeps its domain (useful for B2B analysis) and replaces the local part by the md5 of
    its lower-cased, trimmed value, so the same address masks the same way in every domain and
    masked emails can still be joined and counted:
        Jane.Doe@example.com  ->  md5('jane.doe') || '@example.com'
    A value without '@' is hashed whole. Never expose the unmasked column from a public model. -#}

{% macro mask_email(column) -%}
    case
        when {{ column }} is null then null
        when strpos({{ column }}, '@') = 0 then md5(lower(trim({{ column }})))
        else md5(lower(split_part(trim({{ column }}), '@', 1)))
             || '@' || {{ mesh_macros.email_domain(column) }}
    end
{%- endmacro %}


{#- The domain part of an email, lower-cased ('Jane@Example.COM' -> 'example.com'); null without '@'. -#}
{% macro email_domain(column) -%}
    case
        when strpos({{ column }}, '@') > 0 then lower(split_part(trim({{ column }}), '@', 2))
    end
{%- endmacro %}
