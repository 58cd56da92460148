{#- The peildatum as a DATE literal; fails loudly when it is not a date.

    The flow hands it over in the environment (DWH_PEILDATUM), not as --vars: dbt parses
    the whole project again whenever its vars change, and every night has a new peildatum.
    A changed environment variable re-parses only the files that read it (partial parse,
    docs/decisions/0014). Without DWH_PEILDATUM (dbt run by hand) the var is used; unit
    tests override the environment variable. -#}
{% macro peildatum() -%}
    cast('{{ env_var("DWH_PEILDATUM", var("peildatum")) }}' as date)
{%- endmacro %}
