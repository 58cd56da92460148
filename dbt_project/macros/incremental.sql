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

{#- Staging tests read the rows of this build's new files only, when the build continues
    the last one (decision 0014). Every staging test is file-local: row by row (not_null,
    accepted_values, relationships, code_is_mapped) or grouped within a file
    (unique_combination_of_columns on source_file_id and a key), and staging holds no
    peildatum: the rows of older files passed these tests in the build the state comes
    from (flows/incremental.py records state only after a build whose tests all passed).
    dbt_project.yml sets `where: __rows_of_new_files__` on the staging tests; this
    replaces it, and dbt's own macro applies any other `where`. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where') or '' -%}
    {%- if '__rows_of_new_files__' in where -%}
        {%- set where = where | replace('__rows_of_new_files__', rows_of_new_files(relation)) -%}
    {%- endif -%}
    {%- if where and where != 'true' -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- The condition that keeps the rows of files loaded since the last build; `true` on a
    full build (the flow runs it with --full-refresh: no query is made), in any command but
    `dbt build` (a hand-run `dbt test` tests every row, whatever meta.build_delta still
    says of the last night), on Spark, and for a relation without a file column. -#}
{% macro rows_of_new_files(relation) -%}
    {%- if not execute or target.type != 'duckdb' or flags.FULL_REFRESH
        or flags.WHICH != 'build' -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set delta = run_query(
        "select since_file_id from meta.build_delta where incremental"
    ) if build_delta_exists() else none -%}
    {%- if delta is none or (delta.rows | length) != 1 -%}
        {{ return('true') }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- for column in ['source_file_id', '_file_id'] if column in columns -%}
        {{ return('(' ~ column ~ ' > ' ~ delta.rows[0][0] ~ ' or ' ~ column ~ ' is null)') }}
    {%- endfor -%}
    {{ return('true') }}
{%- endmacro %}

{% macro build_delta_exists() -%}
    {%- set found = run_query(
        "select count(*) from duckdb_tables()"
        ~ " where schema_name = 'meta' and table_name = 'build_delta'"
    ) -%}
    {{ return(found.rows[0][0] > 0) }}
{%- endmacro %}
