-- One row per calendar year from var('first_year') (1949, the earliest year a validated fact may
-- have) to var('last_year') (2035), so every observation's year has a row here.

with years as (
    select cast(range as integer) as year
    from range({{ var('first_year') }}, {{ var('last_year') }} + 1)
),

plans as (
    -- China's five-year plans; 1963–1965 was an adjustment period outside any plan.
    select * from (
        values
            ('一五', 1953, 1957),
            ('二五', 1958, 1962),
            ('三五', 1966, 1970),
            ('四五', 1971, 1975),
            ('五五', 1976, 1980),
            ('六五', 1981, 1985),
            ('七五', 1986, 1990),
            ('八五', 1991, 1995),
            ('九五', 1996, 2000),
            ('十五', 2001, 2005),
            ('十一五', 2006, 2010),
            ('十二五', 2011, 2015),
            ('十三五', 2016, 2020),
            ('十四五', 2021, 2025),
            ('十五五', 2026, 2030),
            ('十六五', 2031, 2035)
    ) as plan_list (five_year_plan, start_year, end_year)
),

final as (
    select
        years.year,
        years.year between 2013 and 2021 as is_poverty_campaign_year,
        plans.five_year_plan,
        cast(plans.start_year as integer) as five_year_plan_start_year,
        cast(plans.end_year as integer) as five_year_plan_end_year
    from years
    left join plans
        on years.year between plans.start_year and plans.end_year
    order by years.year
)

select * from final
