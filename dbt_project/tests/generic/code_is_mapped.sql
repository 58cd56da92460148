{#- A source code that the code-list seed does not map: the delivered value is present
    but its mapped column is empty. Fails by name, listing each unmapped code with how
    often it occurs and the first file and line where it does (its failing rows are
    stored, so the quality gate can show them); a code is never dropped silently.
    The model must carry source_file_id and source_line_number, as staging models do. -#}
{% test code_is_mapped(model, column_name, delivered_column) %}
    {{ config(store_failures=true, schema='test_failures') }}
    with

    unmapped as (
        select * from {{ model }}
        where {{ delivered_column }} is not null and {{ column_name }} is null
    ),

    ledger as (
        select * from {{ source('meta', 'file_ledger') }}
    ),

    located as (
        select
            cast(unmapped.{{ delivered_column }} as string) as unmapped_code,
            count(*) as occurrences,
            {{ value_of_first(
                "ledger.file_name || ' line ' || unmapped.source_line_number",
                ['unmapped.source_file_id', 'unmapped.source_line_number'],
            ) }} as first_seen_in
        from unmapped
        left join ledger on unmapped.source_file_id = ledger.file_id
        group by 1
    )

    select * from located
{% endtest %}
