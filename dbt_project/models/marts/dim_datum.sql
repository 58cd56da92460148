{#- One row per calendar day from 2010 through the end of the peildatum's year. -#}
with

days as (
    select
        cast(
            unnest(
                generate_series(
                    date '2010-01-01',
                    make_date(year({{ peildatum() }}), 12, 31),
                    interval 1 day
                )
            ) as date
        ) as date_day
),

described as (
    select
        date_day,
        cast(year(date_day) as integer) as calendar_year,
        cast(quarter(date_day) as integer) as calendar_quarter,
        cast(month(date_day) as integer) as calendar_month,
        cast(isodow(date_day) as integer) as iso_day_of_week
    from days
)

select * from described
