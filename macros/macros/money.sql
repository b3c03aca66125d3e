{#- Money is stored in integer cents in every source system of the mesh. Data products expose
    amounts in dollars as decimal(18, 2): exact, and the same type in every domain. -#}

{% macro cents_to_dollars(column, scale=2) -%}
    cast(({{ column }}) / 100.0 as decimal(18, {{ scale }}))
{%- endmacro %}


{#- Division that returns null instead of failing (or returning inf) when the divisor is 0 or null.
    The result is a double. -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double precision) / nullif(cast({{ denominator }} as double precision), 0))
{%- endmacro %}


{#- round(x, n) for any numeric x on every warehouse: PostgreSQL has no round(double precision, int),
    so the value is rounded as an exact decimal (wide enough for any amount of the mesh). -#}
{% macro round_to(expression, digits) -%}
    round(cast(({{ expression }}) as decimal(38, 10)), {{ digits }})
{%- endmacro %}
