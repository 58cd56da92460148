{#- One row per police investigation as known at the peildatum, old and new system
    joined: a BVO record that carries a legacy_bvh_nummer and the BVH record with that
    number are one record, and BVO's state wins from BVO's first event on (also when
    that state is a delete: then the record no longer exists). BVH records that no BVO
    record has taken over keep their BVH state. -#}
with

bvh_records as (
    select * from {{ ref('int_bvh_onderzoeken_as_of') }}
),

bvo_records as (
    select * from {{ ref('int_bvo_onderzoeken_as_of') }}
),

taken_over_by_bvo as (
    select distinct legacy_bvh_nummer
    from bvo_records
    where legacy_bvh_nummer is not null
),

bvh_only as (
    select
        'bvh:' || bvh_records.onderzoeknummer as onderzoek_key,
        'bvh' as registration_system,
        bvh_records.onderzoeknummer,
        cast(null as varchar) as bvo_record_id,
        cast(null as varchar) as legacy_bvh_nummer,
        bvh_records.police_unit_code,
        bvh_records.investigation_kind,
        bvh_records.start_date,
        bvh_records.end_date,
        bvh_records.intervention,
        bvh_records.is_keyplayer,
        bvh_records.extraction_date as state_date,
        bvh_records.source_file_id,
        bvh_records.source_line_number,
        cast(null as varchar) as source_event_id
    from bvh_records
    anti join taken_over_by_bvo
        on bvh_records.onderzoeknummer = taken_over_by_bvo.legacy_bvh_nummer
),

bvo_existing as (
    select
        'bvo:' || record_id as onderzoek_key,
        'bvo' as registration_system,
        onderzoeknummer,
        record_id as bvo_record_id,
        legacy_bvh_nummer,
        police_unit_code,
        investigation_kind,
        start_date,
        end_date,
        intervention,
        is_keyplayer,
        {{ amsterdam_date('event_time') }} as state_date,
        source_file_id,
        source_line_number,
        event_id as source_event_id
    from bvo_records
    where not is_deleted
),

joined as (
    select * from bvh_only
    union all
    select * from bvo_existing
)

select * from joined
