{#-
    Building blocks of the report layer: one figure per report year, over the records of
    a fact CTE (aliased `records`), with the registration systems that contributed.
    `report_years` must be a CTE in scope (see report_years_relation).
    `filter` selects the records of the indicator, `year_rule` ties a record to a year.
-#}

{% macro yearly_count(indicator_code, records, key, filter, year_rule) %}
    select
        report_years.report_year,
        '{{ indicator_code }}' as indicator_code,
        cast(count(records.{{ key }}) as decimal(18, 2)) as realisation,
        {{ contributing_systems('records.registration_system') }} as registration_systems
    from report_years
    left join {{ records }} as records
        on ({{ filter }}) and {{ year_rule }}
    group by report_years.report_year
{% endmacro %}

{#- The share of the selected records for which `numerator` holds, x 100, one decimal;
    NULL over zero records. Contributing systems are those of the denominator. -#}
{% macro yearly_percentage(indicator_code, records, key, filter, year_rule, numerator) %}
    select
        report_years.report_year,
        '{{ indicator_code }}' as indicator_code,
        cast(
            {{ round_half_away_ratio(
                'count(case when ' ~ numerator ~ ' then records.' ~ key ~ ' end) * 100',
                'count(records.' ~ key ~ ')',
                1,
            ) }} as decimal(18, 2)
        ) as realisation,
        {{ contributing_systems('records.registration_system') }} as registration_systems
    from report_years
    left join {{ records }} as records
        on ({{ filter }}) and {{ year_rule }}
    group by report_years.report_year
{% endmacro %}

{#- The sum of `amount` over the selected records (an absent amount counts 0; a sum over
    no records is 0.00). -#}
{% macro yearly_sum(indicator_code, records, key, amount, filter, year_rule) %}
    select
        report_years.report_year,
        '{{ indicator_code }}' as indicator_code,
        cast(
            coalesce(sum(case when records.{{ key }} is not null then coalesce(records.{{ amount }}, 0) end), 0)
            as decimal(18, 2)
        ) as realisation,
        {{ contributing_systems('records.registration_system') }} as registration_systems
    from report_years
    left join {{ records }} as records
        on ({{ filter }}) and {{ year_rule }}
    group by report_years.report_year
{% endmacro %}
