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
        data ->> 'nummer' as beslagnummer,
        cast(null as varchar) as bvh_onderzoeknummer,
        data ->> 'onderzoek_id' as bvo_onderzoek_id,
        data -> 'eenheid' ->> 'code' as police_unit_code,
        cast(data ->> 'beslagdatum' as date) as seizure_date,
        {{ amsterdam_date("cast(data ->> 'registratiedatum' as timestamptz)") }} as registration_date,
        data ->> 'grondslag' as legal_basis,
        data ->> 'soort' as object_kind,
        data ->> 'omschrijving' as description,
        cast(cast(data ->> 'waarde_cent' as decimal(18, 0)) * 0.01 as decimal(18, 2)) as value_eur,
        data ->> 'legacy_bvh_nummer' as legacy_bvh_nummer,
        source_file_id,
        source_line_number
    from events
    where entity = 'beslagobject'
)

select * from seizure_events
