with

snapshot_rows as (
    select * from {{ source('bvh', 'bvh_onderzoek') }}
),

police_codes as (
    select * from {{ ref('politie_codes') }}
),

renamed as (
    select
        snapshot_rows.onderzoeknummer,
        snapshot_rows.eenheid as police_unit_code,
        snapshot_rows.soort as investigation_kind_bvh,
        kinds.bvo_code as investigation_kind,
        snapshot_rows.startdatum as start_date,
        snapshot_rows.einddatum as end_date,
        snapshot_rows.interventie as intervention_bvh,
        interventions.bvo_code as intervention,
        snapshot_rows.keyplayer as keyplayer_bvh,
        case snapshot_rows.keyplayer when 'J' then true when 'N' then false end as is_keyplayer,
        snapshot_rows.extraction_date,
        snapshot_rows._file_id as source_file_id,
        snapshot_rows._line_number as source_line_number
    from snapshot_rows
    left join police_codes as kinds
        on kinds.domein = 'soort' and snapshot_rows.soort = kinds.bvh_code
    left join police_codes as interventions
        on interventions.domein = 'interventie' and snapshot_rows.interventie = interventions.bvh_code
)

select * from renamed
