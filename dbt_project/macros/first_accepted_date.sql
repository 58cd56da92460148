{#- The first day a fact's date may have. audit.facts blocks an earlier date, and
    dim_datum starts on it, so every date that passes the gate has its day in dim_datum. -#}
{% macro first_accepted_date() -%}
    date '1990-01-01'
{%- endmacro %}
