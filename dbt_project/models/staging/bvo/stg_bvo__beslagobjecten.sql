with

events as (
    select * from {{ ref('stg_bvo__events') }}
),

seizure_events as (
    select
        event_id,
        record_id,
        version,
        operation,
        event_time,
        event_date,
        {{ json_text('data', ['nummer']) }} as beslagnummer,
        cast(null as string) as bvh_onderzoeknummer,
        {{ json_text('data', ['onderzoek_id']) }} as bvo_onderzoek_id,
        {{ json_text('data', ['eenheid', 'code']) }} as police_unit_code,
        cast({{ json_text('data', ['beslagdatum']) }} as date) as seizure_date,
        {{ amsterdam_date(to_instant(json_text('data', ['registratiedatum']))) }} as registration_date,
        {{ json_text('data', ['grondslag']) }} as legal_basis,
        {{ json_text('data', ['soort']) }} as object_kind,
        {{ json_text('data', ['omschrijving']) }} as description,
        cast(
            cast({{ json_text('data', ['waarde_cent']) }} as decimal(18, 0)) * 0.01 as decimal(18, 2)
        ) as value_eur,
        {{ json_text('data', ['legacy_bvh_nummer']) }} as legacy_bvh_nummer,
        source_file_id,
        source_line_number
    from events
    where entity = 'beslagobject'
)

select * from seizure_events
