{#- The edition's indicators for the gate's suite `indicators`: one row per indicator of
    dim_indicatoren and report year of the edition, whether it is present, and its
    change against the previous report year (for plausibility; the running year is not
    compared, it is incomplete by nature). -#}
{{ config(alias="indicators") }}

with

indicators as (
    select * from {{ ref('dim_indicatoren') }}
),

published as (
    select * from {{ ref('indicators') }}
),

report_years as (
    select * from {{ report_years_relation() }}
),

expected as (
    select
        indicators.indicator_code,
        indicators.unit,
        report_years.report_year
    from indicators
    cross join report_years
),

compared as (
    select
        expected.indicator_code,
        expected.unit,
        expected.report_year,
        published.indicator_code is not null as is_present,
        published.realisation,
        lag(published.realisation) over (
            partition by expected.indicator_code order by expected.report_year
        ) as previous_year_realisation,
        expected.report_year < year({{ peildatum() }}) as is_complete_year
    from expected
    left join published
        on
            expected.indicator_code = published.indicator_code
            and expected.report_year = published.report_year
),

with_change as (
    select
        *,
        case
            when is_complete_year and previous_year_realisation > 0 and unit <> 'percent'
                then cast(realisation as double) / previous_year_realisation - 1
        end as relative_change_vs_previous_year,
        case
            when is_complete_year and unit = 'percent'
                then realisation - previous_year_realisation
        end as point_change_vs_previous_year
    from compared
)

select * from with_change
