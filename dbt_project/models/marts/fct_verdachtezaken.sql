with

cases as (
    select * from {{ ref('int_verdachtezaken_joined') }}
),

ledger as (
    select * from {{ ref('stg_meta__file_ledger') }}
),

with_lineage as (
    select
        cases.record_key as verdachtezaak_key,
        cases.registration_system,
        cases.parketnummer,
        cases.gps_zaak_id,
        cases.compas_parketnummer,
        cases.parket_code,
        cases.person_pseudonym,
        cases.bsn_status,
        cases.inflow_date,
        cases.delivering_agency,
        cases.is_police_unit,
        cases.offence_article,
        cases.decision,
        cases.decision_date,
        cases.state_date,
        {{ peildatum() }} as peildatum,
        ledger.file_name as source_file_name,
        cases.source_line_number
    from cases
    left join ledger on cases.source_file_id = ledger.file_id
)

select * from with_lineage
