with

investigations as (
    select * from {{ ref('int_onderzoeken_joined') }}
),

ledger as (
    select * from {{ ref('stg_meta__file_ledger') }}
),

with_lineage as (
    select
        investigations.record_key as onderzoek_key,
        investigations.registration_system,
        investigations.onderzoeknummer,
        investigations.bvo_record_id,
        investigations.legacy_bvh_nummer,
        investigations.police_unit_code,
        investigations.investigation_kind,
        investigations.start_date,
        investigations.end_date,
        investigations.intervention,
        investigations.is_keyplayer,
        investigations.state_date,
        {{ peildatum() }} as peildatum,
        ledger.file_name as source_file_name,
        investigations.source_line_number,
        investigations.source_event_id
    from investigations
    left join ledger on investigations.source_file_id = ledger.file_id
)

select * from with_lineage
