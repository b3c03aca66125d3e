{#- Whether the whole of `expression` matches the regular expression `pattern` (a SQL string
    literal), on each warehouse's own regex function: DuckDB's regexp_full_match, PostgreSQL's `~`
    anchored at both ends, and regexp_like (Snowflake, Databricks) or regexp_contains (BigQuery). -#}

{% macro full_match(expression, pattern) -%}
    {{ return(adapter.dispatch('full_match', 'mesh_macros')(expression, pattern)) }}
{%- endmacro %}

{% macro default__full_match(expression, pattern) -%}
    regexp_like({{ expression }}, '^(' || {{ pattern }} || ')$')
{%- endmacro %}

{% macro duckdb__full_match(expression, pattern) -%}
    regexp_full_match({{ expression }}, {{ pattern }})
{%- endmacro %}

{% macro postgres__full_match(expression, pattern) -%}
    ({{ expression }} ~ ('^(' || {{ pattern }} || ')$'))
{%- endmacro %}

{% macro bigquery__full_match(expression, pattern) -%}
    regexp_contains({{ expression }}, '^(' || {{ pattern }} || ')$')
{%- endmacro %}
