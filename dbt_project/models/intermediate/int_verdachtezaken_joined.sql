{#- One row per OM suspect-case as known at the peildatum, COMPAS and GPS joined: a GPS
    case with a compas_parketnummer and the COMPAS case with that parketnummer are one,
    and GPS wins from the GPS case's first row on (also when GPS removed it: then it no
    longer counts). Voided COMPAS records and removed GPS cases do not count. -#}
with

compas_cases as (
    select * from {{ ref('int_compas_verdachtezaken_as_of') }}
),

gps_cases as (
    select * from {{ ref('int_gps_verdachtezaken_as_of') }}
),

taken_over_by_gps as (
    select distinct compas_parketnummer
    from gps_cases
    where compas_parketnummer is not null
),

compas_only as (
    select
        'compas:' || compas_cases.parketnummer as record_key,
        'compas' as registration_system,
        compas_cases.parketnummer,
        cast(null as bigint) as gps_zaak_id,
        cast(null as string) as compas_parketnummer,
        compas_cases.parket_code,
        compas_cases.person_pseudonym,
        compas_cases.bsn_status,
        compas_cases.inflow_date,
        compas_cases.delivering_agency,
        compas_cases.is_police_unit,
        compas_cases.offence_article,
        compas_cases.decision,
        compas_cases.decision_date,
        compas_cases.extraction_date as state_date,
        compas_cases.source_file_id,
        compas_cases.source_line_number
    from compas_cases
    anti join taken_over_by_gps
        on compas_cases.parketnummer = taken_over_by_gps.compas_parketnummer
    where not compas_cases.is_voided
),

gps_existing as (
    select
        'gps:' || gps_cases.zaak_id as record_key,
        'gps' as registration_system,
        gps_cases.parketnummer,
        gps_cases.zaak_id as gps_zaak_id,
        gps_cases.compas_parketnummer,
        gps_cases.parket_code,
        gps_cases.person_pseudonym,
        gps_cases.bsn_status,
        gps_cases.inflow_date,
        gps_cases.delivering_agency,
        gps_cases.is_police_unit,
        gps_cases.offence_article,
        gps_cases.decision,
        gps_cases.decision_date,
        gps_cases.state_date,
        gps_cases.source_file_id,
        gps_cases.source_line_number
    from gps_cases
    where not gps_cases.is_removed
),

joined as (
    select * from compas_only
    union all
    select * from gps_existing
)

select * from joined
