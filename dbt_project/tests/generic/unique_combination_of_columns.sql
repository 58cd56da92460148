{#- The combination of columns is unique (the project has no package downloads, so this
    small twin of dbt_utils' test lives here). -#}
{% test unique_combination_of_columns(model, columns) %}
    select {{ columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    group by {{ columns | join(', ') }}
    having count(*) > 1
{% endtest %}
