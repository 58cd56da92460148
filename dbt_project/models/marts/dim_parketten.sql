with

parketten as (
    select * from {{ ref('parketten') }}
),

renamed as (
    select
        parket_code,
        parket_naam as parket_name,
        gps_vanaf as moved_to_gps_on
    from parketten
)

select * from renamed
