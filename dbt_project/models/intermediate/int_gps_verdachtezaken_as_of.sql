{#- GPS state at the peildatum: for each case, its row with the latest gewijzigd_op (as
    an instant) among the rows whose Europe/Amsterdam date is on or before the peildatum;
    on an exact tie the row that arrived later wins (higher file id, then further down the
    file). The link to COMPAS is the latest compas_parketnummer the case carried. -#}
with

change_rows as (
    select * from {{ ref('stg_gps__verdachtezaken') }}
),

known_at_peildatum as (
    select *
    from change_rows
    where changed_date <= {{ peildatum() }}
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
