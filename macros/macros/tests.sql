{#- Generic test: fails for every row where the column is negative (nulls pass).
    Usage in yml:  data_tests: [mesh_macros.not_negative] -#}
{% test not_negative(model, column_name) %}
    select {{ column_name }}
    from {{ model }}
    where {{ column_name }} < 0
{% endtest %}


{#- Generic model test: fails for every combination of `columns` that occurs more than once,
    i.e. checks the grain of a model.
    Usage:  data_tests: [{mesh_macros.unique_combination: {arguments: {columns: [a, b]}}}] -#}
{% test unique_combination(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
