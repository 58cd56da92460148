{#- Reconciliation across layers (the gate's suite `reconciliation`): one row per system,
    entity and pair of layers, with the records (and, for seizures, euros) on both sides
    and the difference the model explains. discrepancy must be 0:
    - ledger -> raw: rows the ledger says were loaded are the rows in the raw tables;
    - raw -> staging: staging views neither add nor drop rows;
    - as of peildatum -> facts: BVH and BVO records known at the peildatum become facts,
      less the BVH records a BVO record took over (merged) and the BVO records deleted. -#}
{{ config(alias="layers") }}

with

ledger as (
    select * from {{ ref('stg_meta__file_ledger') }}
),

loaded_per_entity as (
    select
        source_system,
        case source_system
            when 'bvh' then lower(entity)
            when 'bvo' then 'events'
            else 'verdachtezaken'
        end as entity,
        sum(rows_loaded) as rows_loaded
    from ledger
    where is_loaded
    group by all
),

{%- set layers = [
    ('bvh', 'onderzoek', source('bvh', 'bvh_onderzoek'), ref('stg_bvh__onderzoeken')),
    ('bvh', 'beslag', source('bvh', 'bvh_beslag'), ref('stg_bvh__beslagen')),
    ('bvh', 'executie', source('bvh', 'bvh_executie'), ref('stg_bvh__executiedossiers')),
    ('bvo', 'events', source('bvo', 'bvo_events'), ref('stg_bvo__events')),
    ('compas', 'verdachtezaken', source('compas', 'compas_verdachtezaken'),
        ref('stg_compas__verdachtezaken')),
    ('gps', 'verdachtezaken', source('gps', 'gps_verdachtezaken'), ref('stg_gps__verdachtezaken')),
] %}

raw_counts as (
    {%- for system, entity, raw_relation, _ in layers %}
        select
            '{{ system }}' as source_system,
            '{{ entity }}' as entity,
            count(*) as raw_rows
        from {{ raw_relation }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

staging_counts as (
    {%- for system, entity, _, staging_relation in layers %}
        select
            '{{ system }}' as source_system,
            '{{ entity }}' as entity,
            count(*) as staging_rows
        from {{ staging_relation }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

ledger_to_raw as (
    select
        raw_counts.source_system,
        raw_counts.entity,
        'ledger -> raw' as layers,
        coalesce(loaded_per_entity.rows_loaded, 0) as records_from,
        raw_counts.raw_rows as records_to,
        0 as explained_difference,
        cast(null as decimal(18, 2)) as euro_from,
        cast(null as decimal(18, 2)) as euro_to,
        cast(null as decimal(18, 2)) as explained_euro_difference
    from raw_counts
    left join loaded_per_entity using (source_system, entity)
),

raw_to_staging as (
    select
        raw_counts.source_system,
        raw_counts.entity,
        'raw -> staging' as layers,
        raw_counts.raw_rows as records_from,
        staging_counts.staging_rows as records_to,
        0 as explained_difference,
        cast(null as decimal(18, 2)) as euro_from,
        cast(null as decimal(18, 2)) as euro_to,
        cast(null as decimal(18, 2)) as explained_euro_difference
    from raw_counts
    inner join staging_counts using (source_system, entity)
),

{% set entities = [
    ('onderzoek', 'onderzoeknummer', 'int_bvh_onderzoeken_as_of', 'int_bvo_onderzoeken_as_of', 'fct_onderzoeken', none),
    ('beslag', 'beslagnummer', 'int_bvh_beslagen_as_of', 'int_bvo_beslagobjecten_as_of', 'fct_beslag', 'value_eur'),
    ('executie', 'dossiernummer', 'int_bvh_executiedossiers_as_of', 'int_bvo_executiedossiers_as_of', 'fct_executiedossiers', none),
] %}

{% for entity, number, bvh_model, bvo_model, fact_model, amount in entities %}
    {{ entity }}_as_of_to_facts as (
        select
            'bvh+bvo' as source_system,
            '{{ entity }}' as entity,
            'as of peildatum -> facts' as layers,
            (select count(*) from {{ ref(bvh_model) }})
            + (select count(*) from {{ ref(bvo_model) }}) as records_from,
            (select count(*) from {{ ref(fact_model) }}) as records_to,
            (
                select count(*) from {{ ref(bvh_model) }} as bvh
                where bvh.{{ number }} in (
                    select bvo.legacy_bvh_nummer from {{ ref(bvo_model) }} as bvo
                    where bvo.legacy_bvh_nummer is not null
                )
            )
            + (
                select count(*) from {{ ref(bvo_model) }}
                where is_deleted
            ) as explained_difference,
            {% if amount %}
                cast(
                    (select coalesce(sum({{ amount }}), 0) from {{ ref(bvh_model) }})
                    + (select coalesce(sum({{ amount }}), 0) from {{ ref(bvo_model) }})
                    as decimal(18, 2)
                ) as euro_from,
                cast((select coalesce(sum({{ amount }}), 0) from {{ ref(fact_model) }}) as decimal(18, 2))
                    as euro_to,
                cast(
                    (
                        select coalesce(sum(bvh.{{ amount }}), 0) from {{ ref(bvh_model) }} as bvh
                        where bvh.{{ number }} in (
                            select bvo.legacy_bvh_nummer from {{ ref(bvo_model) }} as bvo
                            where bvo.legacy_bvh_nummer is not null
                        )
                    )
                    + (
                        select coalesce(sum({{ amount }}), 0) from {{ ref(bvo_model) }}
                        where is_deleted
                    )
                    as decimal(18, 2)
                ) as explained_euro_difference
            {% else %}
                cast(null as decimal(18, 2)) as euro_from,
                cast(null as decimal(18, 2)) as euro_to,
                cast(null as decimal(18, 2)) as explained_euro_difference
            {% endif %}
    ),
{% endfor %}

-- OM: the COMPAS cases a GPS case took over are merged; voided COMPAS records and
-- removed GPS cases do not count.
verdachtezaken_as_of_to_facts as (
    select
        'compas+gps' as source_system,
        'verdachtezaken' as entity,
        'as of peildatum -> facts' as layers,
        (select count(*) from {{ ref('int_compas_verdachtezaken_as_of') }})
        + (select count(*) from {{ ref('int_gps_verdachtezaken_as_of') }}) as records_from,
        (select count(*) from {{ ref('fct_verdachtezaken') }}) as records_to,
        (
            select count(*) from {{ ref('int_compas_verdachtezaken_as_of') }} as compas
            where
                compas.is_voided
                or compas.parketnummer in (
                    select gps.compas_parketnummer
                    from {{ ref('int_gps_verdachtezaken_as_of') }} as gps
                    where gps.compas_parketnummer is not null
                )
        )
        + (
            select count(*) from {{ ref('int_gps_verdachtezaken_as_of') }}
            where is_removed)
            as explained_difference,
        cast(null as decimal(18, 2)) as euro_from,
        cast(null as decimal(18, 2)) as euro_to,
        cast(null as decimal(18, 2)) as explained_euro_difference
),

all_pairs as (
    select * from ledger_to_raw
    union all
    select * from raw_to_staging
    {% for entity, _, _, _, _, _ in entities %}
        union all
        select * from {{ entity }}_as_of_to_facts
    {% endfor %}
    union all
    select * from verdachtezaken_as_of_to_facts
),

with_discrepancy as (
    select
        *,
        records_from - explained_difference - records_to as discrepancy,
        coalesce(euro_from - explained_euro_difference - euro_to, 0) as euro_discrepancy
    from all_pairs
)

select * from with_discrepancy
