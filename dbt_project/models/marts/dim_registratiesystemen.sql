with

systems as (
    select * from {{ ref('registratiesystemen') }}
),

renamed as (
    select
        system_code as registration_system,
        system_name,
        owner,
        role,
        delivers_from,
        delivers_until
    from systems
)

select * from renamed
