{#- One row per calendar day from the first date a fact may have (1990-01-01, which
    audit.facts enforces) through the end of the peildatum's year. -#}
with

days as (
    {{ day_rows(first_accepted_date(), 'make_date(year(' ~ peildatum() ~ '), 12, 31)') }}
),

described as (
    select
        date_day,
        cast(year(date_day) as integer) as calendar_year,
        cast(quarter(date_day) as integer) as calendar_quarter,
        cast(month(date_day) as integer) as calendar_month,
        cast({{ iso_day_of_week("date_day") }} as integer) as iso_day_of_week
    from days
)

select * from described
