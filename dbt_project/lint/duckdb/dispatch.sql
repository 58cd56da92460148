{#- sqlfluff only (Makefile: lint): renders the cross-engine macros with their duckdb implementation.
    sqlfluff's Jinja templater has no dbt adapter to dispatch on. -#}

{% macro json_text(column, keys) -%}{{ duckdb__json_text(column, keys) }}{%- endmacro %}

{% macro to_instant(text) -%}{{ duckdb__to_instant(text) }}{%- endmacro %}

{% macro amsterdam_date(column) -%}{{ duckdb__amsterdam_date(column) }}{%- endmacro %}

{% macro sorted_distinct_join(column) -%}{{ duckdb__sorted_distinct_join(column) }}{%- endmacro %}

{% macro exact_integer(expression) -%}{{ duckdb__exact_integer(expression) }}{%- endmacro %}

{% macro integer_quotient(dividend, divisor) -%}{{ duckdb__integer_quotient(dividend, divisor) }}{%- endmacro %}

{% macro exact_sign(expression) -%}{{ duckdb__exact_sign(expression) }}{%- endmacro %}

{% macro day_rows(first_day, last_day) -%}{{ duckdb__day_rows(first_day, last_day) }}{%- endmacro %}

{% macro iso_day_of_week(column) -%}{{ duckdb__iso_day_of_week(column) }}{%- endmacro %}

{% macro last_non_null(column) -%}{{ duckdb__last_non_null(column) }}{%- endmacro %}

{% macro value_of_first(value, order_columns) -%}{{ duckdb__value_of_first(value, order_columns) }}{%- endmacro %}

{#- dbt's env_var (macros/peildatum.sql reads DWH_PEILDATUM): sqlfluff renders the default. -#}
{% macro env_var(name, default=none) -%}{{ default }}{%- endmacro %}

{#- macros/incremental.sql reads meta.build_delta with run_query, which sqlfluff lacks. -#}
{% macro build_delta() -%}{{ return({"peildatum": "2023-01-31", "file_id": 0}) }}{%- endmacro %}

{% macro snapshot_arrived(system) -%}{{ return(false) }}{%- endmacro %}
