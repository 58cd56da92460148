{#- One row per delivered file in force (not superseded by a correction): what it declared,
    what was loaded and quarantined. The quality gate's suite `deliveries` reads this. -#}
{{ config(alias="deliveries") }}

with

ledger as (
    select * from {{ ref('stg_meta__file_ledger') }}
),

in_force as (
    select
        file_id,
        file_name,
        source_system,
        entity,
        delivery_date,
        status,
        reason,
        rows_declared,
        rows_loaded,
        rows_quarantined,
        rows_loaded + rows_quarantined as rows_accounted,
        case
            when rows_declared > 0 then rows_quarantined / rows_declared
            else 0
        end as quarantined_share
    from ledger
    where status <> 'superseded'
)

select * from in_force
