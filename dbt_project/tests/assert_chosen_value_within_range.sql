-- The chosen county-year value is one of the values stated, so it lies within [min, max].
select *
from {{ ref('fct_county_year_metric') }}
where value < min_value or value > max_value
