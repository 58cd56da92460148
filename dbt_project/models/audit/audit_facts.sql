{#- Checks on the fact tables (the gate's suite `facts`): one row per fact table and check,
    with the number of violating records, which must be 0. -#}
{{ config(alias="facts") }}

with

investigations as (
    select * from {{ ref('fct_onderzoeken') }}
),

seizures as (
    select * from {{ ref('fct_beslag') }}
),

dossiers as (
    select * from {{ ref('fct_executiedossiers') }}
),

suspect_cases as (
    select * from {{ ref('fct_verdachtezaken') }}
),

parketten as (
    select * from {{ ref('dim_parketten') }}
),

units as (
    select * from {{ ref('dim_eenheden') }}
),

checks as (
    select 'fct_onderzoeken' as fact_table, 'key null or duplicate' as check_name,
        count(*) - count(distinct onderzoek_key) as violations
    from investigations
    union all
    select 'fct_onderzoeken', 'police unit not in the code list', count(*)
    from investigations
    where police_unit_code not in (select police_unit_code from units)
    union all
    select 'fct_onderzoeken', 'start after end, or dates outside 1990 .. peildatum', count(*)
    from investigations
    where
        start_date > end_date
        or start_date < date '1990-01-01' or start_date > {{ peildatum() }}
        or end_date > {{ peildatum() }}
    union all
    select 'fct_beslag', 'key null or duplicate', count(*) - count(distinct beslag_key)
    from seizures
    union all
    select 'fct_beslag', 'police unit not in the code list', count(*)
    from seizures
    where police_unit_code not in (select police_unit_code from units)
    union all
    select 'fct_beslag', 'negative value', count(*)
    from seizures
    where value_eur < 0
    union all
    select 'fct_beslag', 'seizure date missing or outside 1990 .. peildatum', count(*)
    from seizures
    where
        seizure_date is null
        or seizure_date < date '1990-01-01' or seizure_date > {{ peildatum() }}
    union all
    select 'fct_executiedossiers', 'key null or duplicate', count(*) - count(distinct dossier_key)
    from dossiers
    union all
    select 'fct_executiedossiers', 'police unit not in the code list', count(*)
    from dossiers
    where police_unit_code not in (select police_unit_code from units)
    union all
    select 'fct_executiedossiers', 'offered date missing or outside 1990 .. peildatum', count(*)
    from dossiers
    where
        offered_date is null
        or offered_date < date '1990-01-01' or offered_date > {{ peildatum() }}
    union all
    select 'fct_verdachtezaken', 'key null or duplicate',
        count(*) - count(distinct verdachtezaak_key)
    from suspect_cases
    union all
    select 'fct_verdachtezaken', 'no person pseudonym', count(*)
    from suspect_cases
    where person_pseudonym is null
    union all
    select 'fct_verdachtezaken', 'parket not in the code list', count(*)
    from suspect_cases
    where parket_code not in (select parket_code from parketten)
    union all
    select 'fct_verdachtezaken', 'inflow date missing or outside 1990 .. peildatum', count(*)
    from suspect_cases
    where
        inflow_date is null
        or inflow_date < date '1990-01-01' or inflow_date > {{ peildatum() }}
)

select * from checks
