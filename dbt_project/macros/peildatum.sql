{#- The peildatum as a DATE literal; fails loudly when the var is not a date. -#}
{% macro peildatum() -%}
    cast('{{ var("peildatum") }}' as date)
{%- endmacro %}

{#- The Europe/Amsterdam calendar date of a timestamp with time zone (indicators.md). -#}
{% macro amsterdam_date(column) -%}
    cast(timezone('Europe/Amsterdam', {{ column }}) as date)
{%- endmacro %}
