{#- Incremental state on DuckDB (docs/decisions/0014, flows/incremental.py).

    The flow decides before each build whether the models can continue from the last
    build (then it runs `dbt build`) or must be rebuilt (`dbt build --full-refresh`), and
    writes what changed since into meta.build_delta. Spark always builds in full: there the
    models are tables. -#}

{#- The materialization of a model that keeps state between builds. -#}
{% macro stateful_materialization() -%}
    {{ return('incremental' if target.type == 'duckdb' else 'table') }}
{%- endmacro %}

{#- What changed since the last build: its peildatum and its highest file id, as literals. -#}
{% macro build_delta() %}
    {%- set result = run_query(
        "select since_peildatum::varchar, since_file_id from meta.build_delta where incremental"
    ) -%}
    {%- if result is none or (result.rows | length) != 1 -%}
        {{ exceptions.raise_compiler_error(
            "an incremental build needs one row in meta.build_delta: run the models through "
            ~ "flows/transform.py, or with --full-refresh"
        ) }}
    {%- endif -%}
    {{ return({"peildatum": result.rows[0][0], "file_id": result.rows[0][1]}) }}
{% endmacro %}

{#- Whether a loaded snapshot of `system` can change what is in force since the last build:
    a file loaded since, or one whose delivery (extraction) date lies after the last
    build's peildatum and on or before this one. -#}
{% macro snapshot_arrived(system) %}
    {%- set since = build_delta() -%}
    {%- set result = run_query(
        "select count(*) from meta.file_ledger where status = 'loaded' and source_system = '"
        ~ system ~ "' and (file_id > " ~ since.file_id ~ " or (delivery_date > date '"
        ~ since.peildatum ~ "' and delivery_date <= " ~ peildatum() ~ "))"
    ) -%}
    {{ return(result.rows[0][0] > 0) }}
{% endmacro %}
