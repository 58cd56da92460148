{#- On Spark, the raw tables and the file ledger are the Parquet parts that the run's
    hand-over wrote (flows/handover.py) under DWH_HANDOVER_DIR/<schema>/<table>/. This
    hook (on-run-start) declares one table per source a model reads over its folder before anything
    reads it; declaring again picks up the parts written since. On DuckDB the sources are
    the work database's own tables and this does nothing. -#}
{% macro register_handed_over_sources() -%}
    {{ return(adapter.dispatch('register_handed_over_sources', 'justice_dwh')()) }}
{%- endmacro %}

{% macro default__register_handed_over_sources() -%}
{%- endmacro %}

{% macro spark__register_handed_over_sources() -%}
    {%- if execute -%}
        {%- set root = env_var('DWH_HANDOVER_DIR', '../dwh_home/handover') -%}
        {#- Only sources a model reads: other sources (meta.runs, ...) are declared to
            describe published bookkeeping tables, and the hand-over does not write them. -#}
        {%- set read = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- for parent in node.depends_on.nodes if parent.startswith('source.') -%}
                {%- do read.append(parent) -%}
            {%- endfor -%}
        {%- endfor -%}
        {%- set schemas = [] -%}
        {%- for source in graph.sources.values() if source.unique_id in read -%}
            {%- if source.schema not in schemas -%}
                {%- do run_query('create schema if not exists ' ~ source.schema) -%}
                {%- do schemas.append(source.schema) -%}
            {%- endif -%}
            {%- set relation = source.schema ~ '.' ~ source.identifier -%}
            {%- do run_query('drop table if exists ' ~ relation) -%}
            {%- do run_query(
                'create table ' ~ relation ~ ' using parquet location '
                ~ "'" ~ root ~ '/' ~ source.schema ~ '/' ~ source.identifier ~ "'"
            ) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{#- Seeds on Spark: dbt-spark 1.11's session cursor binds an empty CSV value as the text
    'None' (and every number as a float). This renders each value as a SQL literal
    instead: an empty value is NULL, as on DuckDB (tested by the unit test of
    rpt_periodieke_rapportages on both targets). -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for value in row -%}
                    {%- set column_name = agate_table.column_names[loop.index0] -%}
                    {%- set type = column_override.get(column_name, adapter.convert_type(agate_table, loop.index0)) -%}
                    {%- if value is none -%}
                        cast(null as {{ type }})
                    {%- else -%}
                        cast('{{ value | string | replace("\\", "\\\\") | replace("'", "\\'") }}' as {{ type }})
                    {%- endif -%}
                    {%- if not loop.last %}, {% endif -%}
                {%- endfor -%})
                {%- if not loop.last %},{% endif %}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{% endmacro %}
