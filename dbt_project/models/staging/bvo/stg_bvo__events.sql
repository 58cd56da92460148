with

events as (
    select * from {{ source('bvo', 'bvo_events') }}
),

renamed as (
    select
        event_id,
        event_time,
        event_time_text,
        {{ amsterdam_date('event_time') }} as event_date,
        op as operation,
        entity,
        record_id,
        version,
        data,
        _file_id as source_file_id,
        _line_number as source_line_number
    from events
)

select * from renamed
