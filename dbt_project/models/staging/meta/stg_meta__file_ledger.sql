with

ledger as (
    select * from {{ source('meta', 'file_ledger') }}
),

renamed as (
    select
        file_id,
        file_name,
        source_system,
        entity,
        delivery_date,
        delivery_time,
        delivery_seq,
        sha256,
        rows_declared,
        rows_loaded,
        rows_quarantined,
        status,
        reason,
        loaded_at,
        run_id,
        status = 'loaded' as is_loaded
    from ledger
)

select * from renamed
