{#- Schemas are named as configured (staging, marts, report, ...), not prefixed with the
    target schema: analysts query report.indicators, not main_report.indicators. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
