{#- A source code that the code-list seed does not map: the delivered value is present
    but its mapped column is empty. Fails by name, listing the unmapped codes; a code is
    never dropped silently. -#}
{% test code_is_mapped(model, column_name, delivered_column) %}
    select {{ delivered_column }} as unmapped_code, count(*) as occurrences
    from {{ model }}
    where {{ delivered_column }} is not null and {{ column_name }} is null
    group by 1
{% endtest %}
