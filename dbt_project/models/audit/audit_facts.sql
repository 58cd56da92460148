{#- Checks on the fact tables (the gate's suite `facts`): one row per fact table and check,
    with the number of violating records, which must be 0. -#}
{{ config(alias="facts") }}

{%- set in_range = "between " ~ first_accepted_date() ~ " and " ~ peildatum() -%}
{%- set checks = [
    ('fct_onderzoeken', 'key null or duplicate',
        'count(*) - count(distinct onderzoek_key)', 'true'),
    ('fct_onderzoeken', 'police unit not in the code list',
        'count(*)', 'police_unit_code not in (select units.police_unit_code from units)'),
    ('fct_onderzoeken', 'start after end, or dates outside 1990 .. peildatum',
        'count(*)',
        'start_date > end_date or start_date not ' ~ in_range ~ ' or end_date not ' ~ in_range),
    ('fct_beslag', 'key null or duplicate', 'count(*) - count(distinct beslag_key)', 'true'),
    ('fct_beslag', 'police unit not in the code list',
        'count(*)', 'police_unit_code not in (select units.police_unit_code from units)'),
    ('fct_beslag', 'negative value', 'count(*)', 'value_eur < 0'),
    ('fct_beslag', 'seizure date missing or outside 1990 .. peildatum',
        'count(*)', 'seizure_date is null or seizure_date not ' ~ in_range),
    ('fct_executiedossiers', 'key null or duplicate',
        'count(*) - count(distinct dossier_key)', 'true'),
    ('fct_executiedossiers', 'police unit not in the code list',
        'count(*)', 'police_unit_code not in (select units.police_unit_code from units)'),
    ('fct_executiedossiers', 'offered date missing or outside 1990 .. peildatum',
        'count(*)', 'offered_date is null or offered_date not ' ~ in_range),
    ('fct_verdachtezaken', 'key null or duplicate',
        'count(*) - count(distinct verdachtezaak_key)', 'true'),
    ('fct_verdachtezaken', 'no person pseudonym', 'count(*)', 'person_pseudonym is null'),
    ('fct_verdachtezaken', 'parket not in the code list',
        'count(*)', 'parket_code not in (select parketten.parket_code from parketten)'),
    ('fct_verdachtezaken', 'inflow date missing or outside 1990 .. peildatum',
        'count(*)', 'inflow_date is null or inflow_date not ' ~ in_range),
] %}

with

fct_onderzoeken as (
    select * from {{ ref('fct_onderzoeken') }}
),

fct_beslag as (
    select * from {{ ref('fct_beslag') }}
),

fct_executiedossiers as (
    select * from {{ ref('fct_executiedossiers') }}
),

fct_verdachtezaken as (
    select * from {{ ref('fct_verdachtezaken') }}
),

units as (
    select * from {{ ref('dim_eenheden') }}
),

parketten as (
    select * from {{ ref('dim_parketten') }}
),

checks as (
    {%- for fact_table, check_name, violations, condition in checks %}
        select
            '{{ fact_table }}' as fact_table,
            '{{ check_name }}' as check_name,
            {{ violations }} as violations
        from {{ fact_table }}
        where {{ condition }}
        {% if not loop.last %}
            union all
        {% endif %}
    {%- endfor %}
)

select * from checks
