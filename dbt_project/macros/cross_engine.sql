{#-
    The constructs that DuckDB and Spark SQL spell differently, each behind
    adapter.dispatch with a duckdb__ and a spark__ implementation (docs/decisions/0012).
    The duckdb__ ones render exactly the SQL the models had before there was a second
    engine. Every macro here is exercised on both targets by the unit tests in
    models/cross_engine/_cross_engine__unit_tests.yml.
-#}

{#- The text of a JSON value at `keys` (a path of object keys) of a JSON column. -#}
{% macro json_text(column, keys) -%}
    {{ return(adapter.dispatch('json_text', 'justice_dwh')(column, keys)) }}
{%- endmacro %}

{% macro duckdb__json_text(column, keys) -%}
    {{ column }}{% for key in keys %} {{ '->>' if loop.last else '->' }} '{{ key }}'{% endfor %}
{%- endmacro %}

{% macro spark__json_text(column, keys) -%}
    get_json_object({{ column }}, '$.{{ keys | join(".") }}')
{%- endmacro %}


{#- A timestamp with time zone from its ISO 8601 text (an offset in the text wins;
    without one it is UTC, the session time zone of both targets). -#}
{% macro to_instant(text) -%}
    {{ return(adapter.dispatch('to_instant', 'justice_dwh')(text)) }}
{%- endmacro %}

{% macro duckdb__to_instant(text) -%}
    cast({{ text }} as timestamptz)
{%- endmacro %}

{% macro spark__to_instant(text) -%}
    cast({{ text }} as timestamp)
{%- endmacro %}


{#- The Europe/Amsterdam calendar date of an instant (indicators.md). Spark's timestamps
    are instants shown in the session time zone, which the profile sets to UTC. -#}
{% macro amsterdam_date(column) -%}
    {{ return(adapter.dispatch('amsterdam_date', 'justice_dwh')(column)) }}
{%- endmacro %}

{% macro duckdb__amsterdam_date(column) -%}
    cast(timezone('Europe/Amsterdam', {{ column }}) as date)
{%- endmacro %}

{% macro spark__amsterdam_date(column) -%}
    to_date(from_utc_timestamp({{ column }}, 'Europe/Amsterdam'))
{%- endmacro %}


{#- The distinct non-null values of `column` in a group, sorted, joined with '+';
    NULL when there are none. -#}
{% macro sorted_distinct_join(column) -%}
    {{ return(adapter.dispatch('sorted_distinct_join', 'justice_dwh')(column)) }}
{%- endmacro %}

{% macro duckdb__sorted_distinct_join(column) -%}
    string_agg(distinct {{ column }}, '+' order by {{ column }})
{%- endmacro %}

{% macro spark__sorted_distinct_join(column) -%}
    nullif(array_join(array_sort(collect_set({{ column }})), '+'), '')
{%- endmacro %}


{#- An exact integer wide enough for the scaled figures of round_half_away_ratio, and
    the integer quotient (towards zero) of two of them. Spark has no 128-bit integer:
    decimal(38, 0) holds the operands and `div` returns a 64-bit quotient, far above any
    ratio x 10^digits that an indicator can have. -#}
{% macro exact_integer(expression) -%}
    {{ return(adapter.dispatch('exact_integer', 'justice_dwh')(expression)) }}
{%- endmacro %}

{% macro duckdb__exact_integer(expression) -%}
    cast({{ expression }} as hugeint)
{%- endmacro %}

{% macro spark__exact_integer(expression) -%}
    cast({{ expression }} as decimal(38, 0))
{%- endmacro %}

{% macro integer_quotient(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_quotient', 'justice_dwh')(dividend, divisor)) }}
{%- endmacro %}

{% macro duckdb__integer_quotient(dividend, divisor) -%}
    {{ dividend }}
                // {{ divisor }}
{%- endmacro %}

{% macro spark__integer_quotient(dividend, divisor) -%}
    {{ dividend }}
                div {{ divisor }}
{%- endmacro %}

{#- The sign of a number as -1, 0 or 1 (Spark's sign() is a double: keep it exact). -#}
{% macro exact_sign(expression) -%}
    {{ return(adapter.dispatch('exact_sign', 'justice_dwh')(expression)) }}
{%- endmacro %}

{% macro duckdb__exact_sign(expression) -%}
    sign({{ expression }})
{%- endmacro %}

{% macro spark__exact_sign(expression) -%}
    cast(sign({{ expression }}) as int)
{%- endmacro %}


{#- One row per day from `first_day` through `last_day` (dates), as column `date_day`. -#}
{% macro day_rows(first_day, last_day) -%}
    {{ return(adapter.dispatch('day_rows', 'justice_dwh')(first_day, last_day)) }}
{%- endmacro %}

{% macro duckdb__day_rows(first_day, last_day) -%}
    select
        cast(
            unnest(
                generate_series(
                    {{ first_day }},
                    {{ last_day }},
                    interval 1 day
                )
            ) as date
        ) as date_day
{%- endmacro %}

{% macro spark__day_rows(first_day, last_day) -%}
    select explode(sequence({{ first_day }}, {{ last_day }}, interval 1 day)) as date_day
{%- endmacro %}


{#- The ISO day of the week of a date: Monday 1 .. Sunday 7. -#}
{% macro iso_day_of_week(column) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'justice_dwh')(column)) }}
{%- endmacro %}

{% macro duckdb__iso_day_of_week(column) -%}
    isodow({{ column }})
{%- endmacro %}

{% macro spark__iso_day_of_week(column) -%}
    (weekday({{ column }}) + 1)
{%- endmacro %}


{#- The last non-null value of `column` in a window frame (add the over clause). -#}
{% macro last_non_null(column) -%}
    {{ return(adapter.dispatch('last_non_null', 'justice_dwh')(column)) }}
{%- endmacro %}

{% macro duckdb__last_non_null(column) -%}
    last_value({{ column }} ignore nulls)
{%- endmacro %}

{% macro spark__last_non_null(column) -%}
    last_value({{ column }}, true)
{%- endmacro %}


{#- The `value` of the row with the smallest (`order_columns`...) in a group. -#}
{% macro value_of_first(value, order_columns) -%}
    {{ return(adapter.dispatch('value_of_first', 'justice_dwh')(value, order_columns)) }}
{%- endmacro %}

{% macro duckdb__value_of_first(value, order_columns) -%}
    arg_min(
                {{ value }},
                [{{ order_columns | join(', ') }}]
            )
{%- endmacro %}

{% macro spark__value_of_first(value, order_columns) -%}
    min_by({{ value }}, struct({{ order_columns | join(', ') }}))
{%- endmacro %}
