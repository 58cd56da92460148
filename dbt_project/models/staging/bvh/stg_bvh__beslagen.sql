with

snapshot_rows as (
    select * from {{ source('bvh', 'bvh_beslag') }}
),

police_codes as (
    select * from {{ ref('politie_codes') }}
),

renamed as (
    select
        snapshot_rows.beslagnummer,
        snapshot_rows.onderzoeknummer as bvh_onderzoeknummer,
        cast(null as string) as bvo_onderzoek_id,
        snapshot_rows.eenheid as police_unit_code,
        snapshot_rows.beslagdatum as seizure_date,
        snapshot_rows.registratiedatum as registration_date,
        snapshot_rows.grondslag as legal_basis_bvh,
        legal_bases.bvo_code as legal_basis,
        snapshot_rows.objectsoort as object_kind_bvh,
        object_kinds.bvo_code as object_kind,
        snapshot_rows.omschrijving as description,
        cast(snapshot_rows.waarde as decimal(18, 2)) as value_eur,
        snapshot_rows.extraction_date,
        snapshot_rows._file_id as source_file_id,
        snapshot_rows._line_number as source_line_number
    from snapshot_rows
    left join police_codes as legal_bases
        on legal_bases.domein = 'grondslag' and snapshot_rows.grondslag = legal_bases.bvh_code
    left join police_codes as object_kinds
        on object_kinds.domein = 'objectsoort' and snapshot_rows.objectsoort = object_kinds.bvh_code
)

select * from renamed
