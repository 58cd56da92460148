{#-
    The "as known at the peildatum" rules for the police systems (sources.md, indicators.md),
    shared by investigations, seizures and execution dossiers.
-#}

{#- BVH: the rows of the latest loaded snapshot of `entity` whose extraction date is on or
    before the peildatum. A record missing from that snapshot does not exist in BVH;
    rejected snapshots are not loaded, so the previous valid one stays in force. -#}
{% macro bvh_snapshot_as_of(snapshot_rows, entity) %}
with

snapshot_rows as (
    select * from {{ snapshot_rows }}
),

ledger as (
    select * from {{ ref('stg_meta__file_ledger') }}
),

snapshot_in_force as (
    select file_id
    from ledger
    where
        is_loaded
        and source_system = 'bvh'
        and entity = '{{ entity }}'
        and delivery_date <= {{ peildatum() }}
    order by delivery_date desc
    limit 1
),

records_as_of as (
    select snapshot_rows.*
    from snapshot_rows
    inner join snapshot_in_force
        on snapshot_rows.source_file_id = snapshot_in_force.file_id
)

select * from records_as_of
{% endmacro %}


{#- BVO: one row per record with at least one event on or before the peildatum
    (Europe/Amsterdam date of event_time):
    - an event delivered more than once counts once;
    - the state is the event with the highest version; two different events with the
      same record and version: the one that arrived later (higher file id, then further
      down its file) wins;
    - a delete as the highest version: the record no longer exists (is_deleted), but it
      keeps the number and legacy_bvh_nummer of its latest version with data, because
      the join with BVH needs them.
    `state_columns` are the entity's fields taken from the state event. -#}
{% macro bvo_state_as_of(entity_events, number_column, state_columns) %}
with

entity_events as (
    select * from {{ entity_events }}
),

known_at_peildatum as (
    select *
    from entity_events
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
            order by
                operation = 'delete',
                version desc,
                source_file_id desc,
                source_line_number desc
        ) as data_rank,
        min(event_date) over (partition by record_id) as first_event_date
    from deduplicated
),

latest_data as (
    select
        record_id,
        {{ number_column }},
        legacy_bvh_nummer
    from ranked
    where data_rank = 1 and operation <> 'delete'
),

state as (
    select
        ranked.record_id,
        latest_data.{{ number_column }},
        latest_data.legacy_bvh_nummer,
        {%- for column in state_columns %}
        ranked.{{ column }},
        {%- endfor %}
        ranked.operation = 'delete' as is_deleted,
        ranked.version,
        ranked.event_id,
        ranked.event_date as state_date,
        ranked.first_event_date,
        ranked.source_file_id,
        ranked.source_line_number
    from ranked
    left join latest_data on ranked.record_id = latest_data.record_id
    where ranked.state_rank = 1
)

select * from state
{% endmacro %}


{#- One row per police record as known at the peildatum, old and new system joined: a
    BVO record that carries a legacy_bvh_nummer and the BVH record with that number are
    one record, and BVO's state wins from BVO's first event on (also when that state is a
    delete: then the record no longer exists). BVH records that no BVO record has taken
    over keep their BVH state. `columns` are the entity's fields, named alike on both sides. -#}
{% macro police_records_joined(bvh_records, bvo_records, number_column, columns) %}
with

bvh_records as (
    select * from {{ bvh_records }}
),

bvo_records as (
    select * from {{ bvo_records }}
),

taken_over_by_bvo as (
    select distinct legacy_bvh_nummer
    from bvo_records
    where legacy_bvh_nummer is not null
),

bvh_only as (
    select
        'bvh:' || bvh_records.{{ number_column }} as record_key,
        'bvh' as registration_system,
        bvh_records.{{ number_column }},
        cast(null as string) as bvo_record_id,
        cast(null as string) as legacy_bvh_nummer,
        {%- for column in columns %}
        bvh_records.{{ column }},
        {%- endfor %}
        bvh_records.extraction_date as state_date,
        bvh_records.source_file_id,
        bvh_records.source_line_number,
        cast(null as string) as source_event_id
    from bvh_records
    anti join taken_over_by_bvo
        on bvh_records.{{ number_column }} = taken_over_by_bvo.legacy_bvh_nummer
),

bvo_existing as (
    select
        'bvo:' || bvo_records.record_id as record_key,
        'bvo' as registration_system,
        bvo_records.{{ number_column }},
        bvo_records.record_id as bvo_record_id,
        bvo_records.legacy_bvh_nummer,
        {%- for column in columns %}
        bvo_records.{{ column }},
        {%- endfor %}
        bvo_records.state_date,
        bvo_records.source_file_id,
        bvo_records.source_line_number,
        bvo_records.event_id as source_event_id
    from bvo_records
    where not bvo_records.is_deleted
),

joined as (
    select * from bvh_only
    union all
    select * from bvo_existing
)

select * from joined
{% endmacro %}
