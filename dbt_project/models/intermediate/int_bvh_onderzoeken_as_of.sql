{#- BVH state at the peildatum: the rows of the latest loaded ONDERZOEK snapshot whose
    extraction date is on or before the peildatum. A record missing from that snapshot
    does not exist in BVH. Rejected snapshots are not in the ledger as loaded, so the
    previous valid snapshot stays in force. -#}
with

snapshot_rows as (
    select * from {{ ref('stg_bvh__onderzoeken') }}
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
        and entity = 'ONDERZOEK'
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
