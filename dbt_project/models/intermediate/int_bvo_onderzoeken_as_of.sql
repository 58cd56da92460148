{#- BVO state at the peildatum, one row per record that has at least one event on or
    before the peildatum (Europe/Amsterdam date of event_time):
    - an event delivered more than once counts once;
    - the state is the event with the highest version; two different events with the
      same record and version: the one that arrived later (higher file id, then further
      down its file) wins;
    - a delete as the highest version: the record no longer exists (is_deleted), but it
      still carries the legacy_bvh_nummer of its latest version with data, because the
      join with BVH needs it. -#}
with

investigation_events as (
    select * from {{ ref('stg_bvo__onderzoeken') }}
),

known_at_peildatum as (
    select *
    from investigation_events
    where event_date <= {{ peildatum() }}
),

deduplicated as (
    select *
    from known_at_peildatum
    qualify row_number() over (
        partition by event_id
        order by source_file_id, source_line_number
    ) = 1
),

ranked as (
    select
        *,
        row_number() over (
            partition by record_id
            order by version desc, source_file_id desc, source_line_number desc
        ) as state_rank,
        row_number() over (
            partition by record_id
            order by operation = 'delete', version desc, source_file_id desc, source_line_number desc
        ) as data_rank,
        min(event_date) over (partition by record_id) as first_event_date
    from deduplicated
),

latest_data as (
    select record_id, legacy_bvh_nummer, onderzoeknummer
    from ranked
    where data_rank = 1 and operation <> 'delete'
),

state as (
    select
        ranked.record_id,
        coalesce(ranked.onderzoeknummer, latest_data.onderzoeknummer) as onderzoeknummer,
        ranked.police_unit_code,
        ranked.investigation_kind,
        ranked.start_date,
        ranked.end_date,
        ranked.intervention,
        ranked.is_keyplayer,
        latest_data.legacy_bvh_nummer,
        ranked.operation = 'delete' as is_deleted,
        ranked.version,
        ranked.event_id,
        ranked.event_time,
        ranked.first_event_date,
        ranked.source_file_id,
        ranked.source_line_number
    from ranked
    left join latest_data on ranked.record_id = latest_data.record_id
    where ranked.state_rank = 1
)

select * from state
