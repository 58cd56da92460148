{#- One row per report year and indicator of this edition: the realisation and the
    registration systems that contributed to it. One CTE per indicator (indicators.md). -#}
with

investigations as (
    select * from {{ ref('fct_onderzoeken') }}
),

report_years as (
    select * from {{ report_years_relation() }}
),

csv_onderzoeken as (
    select
        report_years.report_year,
        'csv_onderzoeken' as indicator_code,
        cast(count(investigations.onderzoek_key) as decimal(18, 2)) as realisation,
        {{ contributing_systems('investigations.registration_system') }} as registration_systems
    from report_years
    left join investigations
        on
            investigations.investigation_kind = 'criminele_samenwerking'
            and {{ is_active_in('investigations.start_date', 'investigations.end_date', 'report_years') }}
    group by report_years.report_year
),

realisations as (
    select * from csv_onderzoeken
)

select * from realisations
