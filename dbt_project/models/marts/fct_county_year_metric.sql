-- One row per county × year × metric with a known year; the value is chosen by the rule in
-- int_observations_ranked (latest report first, then the most-stated value, then an exact figure,
-- then the larger value).

with ranked as (
    select * from {{ ref('int_observations_ranked') }}
),

summary as (
    select
        county_code,
        year,
        metric_code,
        count(distinct document_id) as source_count,
        count(*) as observation_count,
        count(distinct value) as distinct_value_count,
        min(value) as min_value,
        max(value) as max_value
    from ranked
    group by county_code, year, metric_code
),

chosen as (
    select * from ranked
    where choice_rank = 1
),

final as (
    select
        {{ surrogate_key(['summary.county_code', 'summary.year', 'summary.metric_code']) }}
            as county_year_metric_id,
        summary.county_code,
        summary.year,
        summary.metric_code,
        chosen.value,
        chosen.unit,
        chosen.qualifier,
        summary.source_count,
        summary.observation_count,
        summary.distinct_value_count,
        summary.min_value,
        summary.max_value,
        (summary.max_value - summary.min_value)
            > 0.005 * greatest(abs(summary.min_value), abs(summary.max_value)) as has_conflict,
        chosen.value_source_count as chosen_value_source_count,
        chosen.observation_id as chosen_observation_id,
        chosen.document_id as chosen_document_id,
        chosen.published_date as chosen_published_date,
        chosen.source_file as chosen_source_file,
        chosen.sentence as chosen_sentence
    from summary
    inner join chosen
        on summary.county_code = chosen.county_code
        and summary.year = chosen.year
        and summary.metric_code = chosen.metric_code
)

select * from final
