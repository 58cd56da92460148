with

offences as (
    select * from {{ ref('feitcodes') }}
),

renamed as (
    select
        wetsartikel as offence_article,
        compas_feitcode as offence_code_compas,
        omschrijving as description,
        thema as theme
    from offences
)

select * from renamed
