{#- The cross-engine macros (macros/cross_engine.sql) on fixed inputs, on whichever target
    runs this test: one row per macro result that is not the expected one. The same
    expectations hold on DuckDB and on Spark, so both implementations are pinned to one
    behaviour (tests/test_spark.py runs this on both). -#}
with

json_rows as (
    select '{"nummer": "B-1", "eenheid": {"code": "PL01"}, "waarde_cent": 12345, "leeg": null}' as data
),

instants as (
    select * from (
        values
        ('2023-03-25T23:30:00Z', '2023-03-26'),
        ('2023-03-26T00:30:00+01:00', '2023-03-26'),
        ('2023-10-28T21:59:59Z', '2023-10-28'),
        ('2023-10-28T22:00:00Z', '2023-10-29'),
        ('2023-12-31T23:00:00Z', '2024-01-01')
    ) as instant_rows (instant_text, expected_date)
),

systems as (
    select * from (
        values (1, 'bvo'), (1, 'bvh'), (1, 'bvo'), (1, null), (2, null)
    ) as system_rows (figure, registration_system)
),

systems_joined as (
    select
        figure,
        {{ sorted_distinct_join('registration_system') }} as registration_systems
    from systems
    group by figure
),

ratios as (
    select * from (
        values
        (1, 3, '33.3'),
        (2, 3, '66.7'),
        (1, 16, '6.3'),
        (-1, 16, '-6.3'),
        (1, -16, '-6.3'),
        (1, 0, null)
    ) as ratio_rows (numerator, denominator, expected)
),

days as (
    {{ day_rows("date '2023-12-30'", "date '2024-01-02'") }}
),

versions as (
    select * from (
        values ('x', 2, 1, 'a'), ('y', 1, 5, null), ('z', 1, 7, 'c'), ('w', 3, 0, null)
    ) as version_rows (code, file_id, line_number, parketnummer)
),

checks as (
    select
        'json_text top level' as check_name,
        {{ json_text('data', ['nummer']) }} as actual,
        'B-1' as expected
    from json_rows
    union all
    select
        'json_text nested',
        {{ json_text('data', ['eenheid', 'code']) }},
        'PL01'
    from json_rows
    union all
    select
        'json_text number',
        {{ json_text('data', ['waarde_cent']) }},
        '12345'
    from json_rows
    union all
    select
        'json_text null',
        {{ json_text('data', ['leeg']) }},
        null
    from json_rows
    union all
    select
        'amsterdam_date of ' || instant_text,
        cast({{ amsterdam_date(to_instant('instant_text')) }} as string),
        expected_date
    from instants
    union all
    select
        'sorted_distinct_join of figure ' || cast(figure as string),
        registration_systems,
        case when figure = 1 then 'bvh+bvo' end
    from systems_joined
    union all
    select
        'round_half_away_ratio ' || cast(numerator as string) || '/' || cast(denominator as string),
        cast(cast({{ round_half_away_ratio('numerator * 100', 'denominator', 1) }} as decimal(9, 1)) as string),
        expected
    from ratios
    union all
    select
        'day_rows',
        cast(count(*) as string) || ' days, iso ' || cast(sum({{ iso_day_of_week('date_day') }} * 10) as string),
        '4 days, iso 160'
    from days
    union all
    select
        'iso_day_of_week of ' || cast(date_day as string),
        cast({{ iso_day_of_week('date_day') }} as string),
        case cast(date_day as string)
            when '2023-12-30' then '6'
            when '2023-12-31' then '7'
            when '2024-01-01' then '1'
            when '2024-01-02' then '2'
        end
    from days
    union all
    select distinct
        'last_non_null',
        {{ last_non_null('parketnummer') }} over (
            order by file_id, line_number
            rows between unbounded preceding and unbounded following
        ),
        'a'
    from versions
    union all
    select
        'value_of_first',
        {{ value_of_first('code', ['file_id', 'line_number']) }},
        'y'
    from versions
)

select * from checks
where actual is distinct from expected
