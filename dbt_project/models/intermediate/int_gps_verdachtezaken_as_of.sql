{#- GPS state at the peildatum: for each case, its row with the latest gewijzigd_op (as
    an instant) among the rows whose Europe/Amsterdam date is on or before the peildatum;
    on an exact tie the row that arrived later wins (higher file id, then further down the
    file). The link to COMPAS is the latest compas_parketnummer the case carried.

    Incremental on DuckDB (decision 0014): a case's state depends only on its own rows, and
    a case never loses its state while the peildatum moves forward without corrections. A
    build that continues from the last one recomputes, from all their rows, only the cases
    with a row in a file loaded since or a row dated after the last build's peildatum. -#}
{{ config(
    materialized=stateful_materialization(),
    incremental_strategy='delete+insert',
    unique_key='zaak_id',
) }}

{%- set since = build_delta() if is_incremental() else none %}

with

change_rows as (
    select * from {{ ref('stg_gps__verdachtezaken') }}
),

known_at_peildatum as (
    select *
    from change_rows
    where
        changed_date <= {{ peildatum() }}
        {%- if since %}
            -- Only the cases with a row loaded since the last build or dated after its peildatum.
            and zaak_id in (
                select changed.zaak_id
                from change_rows as changed
                where
                    changed.source_file_id > {{ since.file_id }}
                    or (
                        changed.changed_date > cast('{{ since.peildatum }}' as date)
                        and changed.changed_date <= {{ peildatum() }}
                    )
            )
        {%- endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by zaak_id
            order by changed_at desc, source_file_id desc, source_line_number desc
        ) as state_rank,
        {{ last_non_null('compas_parketnummer') }} over (
            partition by zaak_id
            order by changed_at, source_file_id, source_line_number
            rows between unbounded preceding and unbounded following
        ) as linked_compas_parketnummer
    from known_at_peildatum
),

state as (
    select
        zaak_id,
        parketnummer,
        parket_code,
        linked_compas_parketnummer as compas_parketnummer,
        person_pseudonym,
        bsn_status,
        inflow_date,
        delivering_agency,
        is_police_unit,
        offence_article,
        decision,
        decision_date,
        is_removed,
        changed_date as state_date,
        source_file_id,
        source_line_number
    from ranked
    where state_rank = 1
)

select * from state
