with

snapshot_rows as (
    select * from {{ source('bvh', 'bvh_executie') }}
),

police_codes as (
    select * from {{ ref('politie_codes') }}
),

renamed as (
    select
        snapshot_rows.dossiernummer,
        snapshot_rows.eenheid as police_unit_code,
        snapshot_rows.aangeboden as offered_date,
        snapshot_rows.kansrijk as is_promising_bvh,
        case snapshot_rows.kansrijk when 'J' then true when 'N' then false end as is_promising,
        snapshot_rows.afgedaan as closed_date,
        snapshot_rows.resultaat as result_bvh,
        results.bvo_code as result,
        snapshot_rows.extraction_date,
        snapshot_rows._file_id as source_file_id,
        snapshot_rows._line_number as source_line_number
    from snapshot_rows
    left join police_codes as results
        on results.domein = 'resultaat' and snapshot_rows.resultaat = results.bvh_code
)

select * from renamed
