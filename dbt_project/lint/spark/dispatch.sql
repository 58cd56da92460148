{#- sqlfluff only (Makefile: lint): renders the cross-engine macros with their spark implementation.
    sqlfluff's Jinja templater has no dbt adapter to dispatch on. -#}

{% macro json_text(column, keys) -%}{{ spark__json_text(column, keys) }}{%- endmacro %}

{% macro to_instant(text) -%}{{ spark__to_instant(text) }}{%- endmacro %}

{% macro amsterdam_date(column) -%}{{ spark__amsterdam_date(column) }}{%- endmacro %}

{% macro sorted_distinct_join(column) -%}{{ spark__sorted_distinct_join(column) }}{%- endmacro %}

{% macro exact_integer(expression) -%}{{ spark__exact_integer(expression) }}{%- endmacro %}

{% macro integer_quotient(dividend, divisor) -%}{{ spark__integer_quotient(dividend, divisor) }}{%- endmacro %}

{% macro exact_sign(expression) -%}{{ spark__exact_sign(expression) }}{%- endmacro %}

{% macro day_rows(first_day, last_day) -%}{{ spark__day_rows(first_day, last_day) }}{%- endmacro %}

{% macro iso_day_of_week(column) -%}{{ spark__iso_day_of_week(column) }}{%- endmacro %}

{% macro last_non_null(column) -%}{{ spark__last_non_null(column) }}{%- endmacro %}

{% macro value_of_first(value, order_columns) -%}{{ spark__value_of_first(value, order_columns) }}{%- endmacro %}

{#- dbt's env_var (macros/peildatum.sql reads DWH_PEILDATUM): sqlfluff renders the default. -#}
{% macro env_var(name, default=none) -%}{{ default }}{%- endmacro %}

{#- macros/incremental.sql reads meta.build_delta with run_query, which sqlfluff lacks. -#}
{% macro build_delta() -%}{{ return({"peildatum": "2023-01-31", "file_id": 0}) }}{%- endmacro %}

{% macro snapshot_arrived(system) -%}{{ return(false) }}{%- endmacro %}
