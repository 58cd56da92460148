{#- The peildatum as a DATE literal; fails loudly when the var is not a date. -#}
{% macro peildatum() -%}
    cast('{{ var("peildatum") }}' as date)
{%- endmacro %}
