with

events as (
    select * from {{ ref('stg_bvo__events') }}
),

investigation_events as (
    select
        event_id,
        record_id,
        version,
        operation,
        event_time,
        event_date,
        data ->> 'nummer' as onderzoeknummer,
        data -> 'eenheid' ->> 'code' as police_unit_code,
        data ->> 'soort' as investigation_kind,
        cast(data ->> 'start' as date) as start_date,
        cast(data ->> 'einde' as date) as end_date,
        data ->> 'interventie' as intervention,
        cast(data ->> 'keyplayer' as boolean) as is_keyplayer,
        data ->> 'legacy_bvh_nummer' as legacy_bvh_nummer,
        source_file_id,
        source_line_number
    from events
    where entity = 'onderzoek'
)

select * from investigation_events
