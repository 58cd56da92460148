with

seizures as (
    select * from {{ ref('int_beslag_joined') }}
),

ledger as (
    select * from {{ ref('stg_meta__file_ledger') }}
),

with_lineage as (
    select
        seizures.record_key as beslag_key,
        seizures.registration_system,
        seizures.beslagnummer,
        seizures.bvo_record_id,
        seizures.legacy_bvh_nummer,
        seizures.bvh_onderzoeknummer,
        seizures.bvo_onderzoek_id,
        seizures.police_unit_code,
        seizures.seizure_date,
        seizures.registration_date,
        seizures.legal_basis,
        seizures.object_kind,
        seizures.description,
        seizures.value_eur,
        seizures.value_eur is null as is_unvalued,
        seizures.legal_basis in ('art94', 'art94a') as is_criminal_law,
        seizures.state_date,
        {{ peildatum() }} as peildatum,
        ledger.file_name as source_file_name,
        seizures.source_line_number,
        seizures.source_event_id
    from seizures
    left join ledger on seizures.source_file_id = ledger.file_id
)

select * from with_lineage
