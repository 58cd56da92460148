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
        {{ json_text('data', ['nummer']) }} as dossiernummer,
        {{ json_text('data', ['eenheid', 'code']) }} as police_unit_code,
        cast({{ json_text('data', ['aangeboden']) }} as date) as offered_date,
        cast({{ json_text('data', ['kansrijk']) }} as boolean) as is_promising,
        cast({{ json_text('data', ['afgedaan']) }} as date) as closed_date,
        {{ json_text('data', ['resultaat']) }} as result,
        {{ json_text('data', ['legacy_bvh_nummer']) }} as legacy_bvh_nummer,
        source_file_id,
        source_line_number
    from events
    where entity = 'executiedossier'
)

select * from dossier_events
