with

change_rows as (
    select * from {{ source('gps', 'gps_verdachtezaken') }}
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
        change_rows.zaak_id,
        change_rows.parketnummer,
        left(change_rows.parketnummer, 2) as parket_code,
        change_rows.compas_parketnummer,
        change_rows.person_pseudonym,
        change_rows.bsn_status,
        change_rows.instroomdatum as inflow_date,
        change_rows.aanleverende_instantie as delivering_agency,
        agencies.is_politie as is_police_unit,
        change_rows.wetsartikel as offence_article,
        offences.wetsartikel as offence_article_known,
        change_rows.afdoening as decision,
        decisions.gps_code as decision_known,
        change_rows.afdoeningsdatum as decision_date,
        change_rows.gewijzigd_op as changed_at,
        {{ amsterdam_date('change_rows.gewijzigd_op') }} as changed_date,
        change_rows.verwijderd as is_removed,
        change_rows._file_id as source_file_id,
        change_rows._line_number as source_line_number
    from change_rows
    left join offences on change_rows.wetsartikel = offences.wetsartikel
    left join agencies on change_rows.aanleverende_instantie = agencies.gps_code
    left join decisions on change_rows.afdoening = decisions.gps_code
)

select * from renamed
