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
        {{ json_text('data', ['nummer']) }} as onderzoeknummer,
        {{ json_text('data', ['eenheid', 'code']) }} as police_unit_code,
        {{ json_text('data', ['soort']) }} as investigation_kind,
        cast({{ json_text('data', ['start']) }} as date) as start_date,
        cast({{ json_text('data', ['einde']) }} as date) as end_date,
        {{ json_text('data', ['interventie']) }} as intervention,
        cast({{ json_text('data', ['keyplayer']) }} as boolean) as is_keyplayer,
        {{ json_text('data', ['legacy_bvh_nummer']) }} as legacy_bvh_nummer,
        source_file_id,
        source_line_number
    from events
    where entity = 'onderzoek'
)

select * from investigation_events
