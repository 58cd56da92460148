{#- One row per report year and indicator of this edition: the realisation and the
    registration systems that contributed to it. One CTE per indicator, as indicators.md
    defines it; the building blocks are in macros/indicators.sql. -#}
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

report_years as (
    select * from {{ report_years_relation() }}
),

csv_onderzoeken as (
    {{ yearly_count(
        'csv_onderzoeken', 'investigations', 'onderzoek_key',
        "records.investigation_kind = 'criminele_samenwerking'",
        is_active_in('records.start_date', 'records.end_date', 'report_years'),
    ) }}
),

beslag_strafrechtelijk_eur as (
    {{ yearly_sum(
        'beslag_strafrechtelijk_eur', 'seizures', 'beslag_key', 'value_eur',
        'records.is_criminal_law',
        'year(records.seizure_date) = report_years.report_year',
    ) }}
),

beslag_ongewaardeerd as (
    {{ yearly_count(
        'beslag_ongewaardeerd', 'seizures', 'beslag_key',
        'records.is_criminal_law and records.is_unvalued',
        'year(records.seizure_date) = report_years.report_year',
    ) }}
),

mensenhandel_verdachten as (
    {{ yearly_count(
        'mensenhandel_verdachten', 'suspect_cases', 'verdachtezaak_key',
        "records.offence_article = 'Sr:273f' and records.is_police_unit",
        'year(records.inflow_date) = report_years.report_year',
    ) }}
),

cybercrime_regulier as (
    {{ yearly_count(
        'cybercrime_regulier', 'investigations', 'onderzoek_key',
        "records.investigation_kind = 'cybercrime'",
        is_closed_in('records.end_date', 'report_years'),
    ) }}
),

cybercrime_fenomeen as (
    {{ yearly_count(
        'cybercrime_fenomeen', 'investigations', 'onderzoek_key',
        "records.investigation_kind = 'cybercrime_fenomeen'",
        is_closed_in('records.end_date', 'report_years'),
    ) }}
),

cybercrime_alternatief_pct as (
    {{ yearly_percentage(
        'cybercrime_alternatief_pct', 'investigations', 'onderzoek_key',
        "records.investigation_kind in ('cybercrime', 'cybercrime_fenomeen')",
        is_closed_in('records.end_date', 'report_years'),
        "records.intervention = 'alternatief'",
    ) }}
),

high_tech_crime_onderzoeken as (
    {{ yearly_count(
        'high_tech_crime_onderzoeken', 'investigations', 'onderzoek_key',
        "records.investigation_kind = 'high_tech_crime'",
        is_active_in('records.start_date', 'records.end_date', 'report_years'),
    ) }}
),

oskm_onderzoeken as (
    {{ yearly_count(
        'oskm_onderzoeken', 'investigations', 'onderzoek_key',
        "records.investigation_kind = 'oskm'",
        is_closed_in('records.end_date', 'report_years'),
    ) }}
),

oskm_keyplayers as (
    {{ yearly_count(
        'oskm_keyplayers', 'investigations', 'onderzoek_key',
        "records.investigation_kind = 'oskm' and records.is_keyplayer",
        is_active_in('records.start_date', 'records.end_date', 'report_years'),
    ) }}
),

executie_dossiers as (
    {{ yearly_count(
        'executie_dossiers', 'dossiers', 'dossier_key',
        'records.is_promising',
        'year(records.offered_date) = report_years.report_year',
    ) }}
),

executie_positief_pct as (
    {{ yearly_percentage(
        'executie_positief_pct', 'dossiers', 'dossier_key',
        'records.is_promising',
        'year(records.offered_date) = report_years.report_year',
        "records.result = 'positief'",
    ) }}
),

realisations as (
    select * from csv_onderzoeken
    union all
    select * from beslag_strafrechtelijk_eur
    union all
    select * from beslag_ongewaardeerd
    union all
    select * from mensenhandel_verdachten
    union all
    select * from cybercrime_regulier
    union all
    select * from cybercrime_fenomeen
    union all
    select * from cybercrime_alternatief_pct
    union all
    select * from high_tech_crime_onderzoeken
    union all
    select * from oskm_onderzoeken
    union all
    select * from oskm_keyplayers
    union all
    select * from executie_dossiers
    union all
    select * from executie_positief_pct
)

select * from realisations
