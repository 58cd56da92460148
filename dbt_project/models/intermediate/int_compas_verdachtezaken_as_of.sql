{#- COMPAS state at the peildatum: for each parket, the cases in the latest loaded COMPAS
    snapshot whose extraction date is on or before the peildatum and, where the parket
    moved to GPS, strictly before its move date (gps_vanaf). A case absent from that
    snapshot does not exist; once a parket moved, its cases stop appearing in later
    snapshots, which is a move, not a removal. Voided records are kept here, flagged.

    Incremental on DuckDB (decision 0014): what is in force changes only when a snapshot
    arrives (or one delivered earlier comes into force as the peildatum moves forward).
    A build that continues from the last one keeps the table as it is unless that
    happened; then it empties the table (pre-hook) and computes it whole. -#}
{{ config(
    materialized=stateful_materialization(),
    incremental_strategy='append',
    pre_hook="{% if is_incremental() and snapshot_arrived('compas') %}delete from {{ this }}{% endif %}",
) }}

with

snapshot_rows as (
    select * from {{ ref('stg_compas__verdachtezaken') }}
),

ledger as (
    select * from {{ ref('stg_meta__file_ledger') }}
),

parketten as (
    select * from {{ ref('parketten') }}
),

loaded_snapshots as (
    select
        file_id,
        delivery_date as extraction_date
    from ledger
    where is_loaded and source_system = 'compas' and delivery_date <= {{ peildatum() }}
),

-- Every parket that occurs in a snapshot, also one the code list lacks (a staging test
-- names it): its cases are not dropped for want of a move date.
parket_codes as (
    select distinct
        snapshot_rows.parket_code,
        parketten.gps_vanaf
    from snapshot_rows
    left join parketten on snapshot_rows.parket_code = parketten.parket_code
),

parket_snapshot_in_force as (
    select
        parket_codes.parket_code,
        max_by(loaded_snapshots.file_id, loaded_snapshots.extraction_date) as file_id
    from parket_codes
    inner join loaded_snapshots
        on
            parket_codes.gps_vanaf is null
            or parket_codes.gps_vanaf > loaded_snapshots.extraction_date
    group by parket_codes.parket_code
),

records_as_of as (
    select snapshot_rows.*
    from snapshot_rows
    inner join parket_snapshot_in_force
        on
            snapshot_rows.source_file_id = parket_snapshot_in_force.file_id
            and snapshot_rows.parket_code = parket_snapshot_in_force.parket_code
)

select * from records_as_of
{%- if is_incremental() and not snapshot_arrived('compas') %}
-- Nothing in force changed since the last build: the table stays as it is (DuckDB plans
-- a constant false filter as an empty result, so nothing above is computed).
    where false
{%- endif %}
