with

events as (
    select * from {{ ref('stg_bvo__events') }}
),

dossier_events as (
    select
        event_id,
        record_id,
        version,
        operation,
        event_time,
        event_date,
        data ->> 'nummer' as dossiernummer,
        data -> 'eenheid' ->> 'code' as police_unit_code,
        cast(data ->> 'aangeboden' as date) as offered_date,
        cast(data ->> 'kansrijk' as boolean) as is_promising,
        cast(data ->> 'afgedaan' as date) as closed_date,
        data ->> 'resultaat' as result,
        data ->> 'legacy_bvh_nummer' as legacy_bvh_nummer,
        source_file_id,
        source_line_number
    from events
    where entity = 'executiedossier'
)

select * from dossier_events
