{#- The report years of an edition: from var first_report_year through the peildatum's year. -#}
{% macro report_years_relation() -%}
    (
        select
            cast(year_number as integer) as report_year,
            make_date(cast(year_number as integer), 1, 1) as year_start,
            make_date(cast(year_number as integer), 12, 31) as year_end
        from range({{ var('first_report_year') }}, year({{ peildatum() }}) + 1) as years (year_number)
    )
{%- endmacro %}

{#- indicators.md: active in Y = start <= 31 Dec Y and (no end or end >= 1 Jan Y);
    a record without a start date is active in no year. -#}
{% macro is_active_in(start_column, end_column, years) -%}
    ({{ start_column }} <= {{ years }}.year_end
        and ({{ end_column }} is null or {{ end_column }} >= {{ years }}.year_start))
{%- endmacro %}

{#- indicators.md: closed in Y = end date within Y. -#}
{% macro is_closed_in(end_column, years) -%}
    ({{ end_column }} between {{ years }}.year_start and {{ years }}.year_end)
{%- endmacro %}

{#- The registration systems that contributed records to a figure, e.g. bvh+bvo;
    old before new is alphabetical for both owners (bvh < bvo, compas < gps). -#}
{% macro contributing_systems(column) -%}
    {{ sorted_distinct_join(column) }}
{%- endmacro %}
