with

snapshot_rows as (
    select * from {{ source('compas', 'compas_verdachtezaken') }}
),

offences as (
    select * from {{ ref('feitcodes') }}
),

agencies as (
    select * from {{ ref('instanties') }}
),

decisions as (
    select * from {{ ref('afdoeningen') }}
),

renamed as (
    select
        snapshot_rows.parketnummer,
        left(snapshot_rows.parketnummer, 2) as parket_code,
        snapshot_rows.person_pseudonym,
        snapshot_rows.bsn_status,
        snapshot_rows.instroomdatum as inflow_date,
        snapshot_rows.aanleverende_instantie as delivering_agency_compas,
        agencies.gps_code as delivering_agency,
        agencies.is_politie as is_police_unit,
        snapshot_rows.feitcode as offence_code_compas,
        offences.wetsartikel as offence_article,
        snapshot_rows.afdoening as decision_compas,
        decisions.gps_code as decision,
        snapshot_rows.afdoeningsdatum as decision_date,
        snapshot_rows.vervallen as is_voided,
        snapshot_rows.extraction_date,
        snapshot_rows._file_id as source_file_id,
        snapshot_rows._line_number as source_line_number
    from snapshot_rows
    left join offences on snapshot_rows.feitcode = offences.compas_feitcode
    left join agencies on snapshot_rows.aanleverende_instantie = agencies.compas_code
    left join decisions on snapshot_rows.afdoening = decisions.compas_code
)

select * from renamed
