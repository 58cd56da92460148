with

dossiers as (
    select * from {{ ref('int_executiedossiers_joined') }}
),

ledger as (
    select * from {{ ref('stg_meta__file_ledger') }}
),

with_lineage as (
    select
        dossiers.record_key as dossier_key,
        dossiers.registration_system,
        dossiers.dossiernummer,
        dossiers.bvo_record_id,
        dossiers.legacy_bvh_nummer,
        dossiers.police_unit_code,
        dossiers.offered_date,
        dossiers.is_promising,
        dossiers.closed_date,
        dossiers.result,
        dossiers.state_date,
        {{ peildatum() }} as peildatum,
        ledger.file_name as source_file_name,
        dossiers.source_line_number,
        dossiers.source_event_id
    from dossiers
    left join ledger on dossiers.source_file_id = ledger.file_id
)

select * from with_lineage
