{#- The published table (interface.md): one row per report year and indicator of the
    edition at this peildatum, with target, realisation, realisation as % of target,
    status and the contributing registration systems. -#}
with

realisations as (
    select * from {{ ref('indicator_realisations') }}
),

indicators as (
    select * from {{ ref('dim_indicatoren') }}
),

targets as (
    select * from {{ ref('doelstellingen') }}
),

with_targets as (
    select
        {{ peildatum() }} as peildatum,
        realisations.report_year,
        realisations.indicator_code,
        indicators.theme,
        indicators.unit,
        cast(targets.doelstelling as decimal(18, 2)) as target,
        cast(realisations.realisation as decimal(18, 2)) as realisation,
        targets.richting as target_direction,
        realisations.registration_systems
    from realisations
    inner join indicators
        on realisations.indicator_code = indicators.indicator_code
    left join targets
        on
            realisations.indicator_code = targets.indicator_code
            and realisations.report_year = targets.jaar
),

with_status as (
    select
        peildatum,
        report_year,
        indicator_code,
        theme,
        unit,
        target,
        realisation,
        cast(
            {{ round_half_away_ratio('realisation * 100', 'target', 1) }} as decimal(9, 1)
        ) as realisation_pct_of_target,
        case
            when target is null then 'geen doelstelling'
            when realisation is null then 'niet behaald'
            when target_direction = 'min' and realisation >= target then 'behaald'
            when target_direction = 'max' and realisation <= target then 'behaald'
            else 'niet behaald'
        end as status,
        registration_systems
    from with_targets
)

select * from with_status
