with

indicators as (
    select * from {{ ref('indicatoren') }}
),

renamed as (
    select
        indicator_code,
        theme,
        unit,
        source_domain,
        definition,
        report_order,
        label,
        theme_label
    from indicators
)

select * from renamed
