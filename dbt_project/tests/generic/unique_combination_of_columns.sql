{#-
    Fails for every combination of `combination_of_columns` that occurs on more than one row:
    asserts the grain of a model. Nulls compare equal here (a null year is one value), which is
    what a grain with an optional column needs.
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with grouped as (
    select
        {{ combination_of_columns | join(', ') }},
        count(*) as row_count
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
)

select *
from grouped
where row_count > 1

{% endtest %}
