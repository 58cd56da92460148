with

units as (
    select * from {{ ref('eenheden') }}
),

renamed as (
    select
        eenheid_code as police_unit_code,
        eenheid_naam as police_unit_name,
        soort as police_unit_kind
    from units
)

select * from renamed
