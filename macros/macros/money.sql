{#- Money is stored in integer cents in every source system of the mesh. Data products expose
    amounts in dollars as decimal(18, 2): exact, and the same type in every domain. -#}

{% macro cents_to_dollars(column, scale=2) -%}
    cast(({{ column }}) / 100.0 as decimal(18, {{ scale }}))
{%- endmacro %}


{#- Division that returns null instead of failing (or returning inf) when the divisor is 0 or null.
    The result is a double. -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}
