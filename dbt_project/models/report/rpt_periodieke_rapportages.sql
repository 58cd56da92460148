{{ config(alias="periodieke_rapportages") }}

with

reports as (
    select * from {{ ref('periodieke_rapportages') }}
),

renamed as (
    select
        thema as theme,
        artikel as article,
        jaar as year,
        soort as kind,
        hyperlink,
        opmerking as remark
    from reports
)

select * from renamed
