-- Every observation with the names an analyst needs, one flat table for BI tools and
-- `fupin export`. The first eleven columns are a fixed contract; keep their order.

with observations as (
    select * from {{ ref('fct_metric_observation') }}
),

counties as (
    select * from {{ ref('dim_county') }}
),

metrics as (
    select * from {{ ref('dim_metric') }}
),

documents as (
    select * from {{ ref('dim_document') }}
),

final as (
    select
        observations.source_file,
        counties.county_name,
        observations.county_code,
        counties.prefecture_name as prefecture,
        counties.province_name as province,
        observations.metric_code,
        metrics.name_zh as metric_name,
        observations.unit,
        observations.year,
        observations.value,
        observations.sentence,
        observations.qualifier,
        observations.period_start_year,
        observations.raw_phrase,
        observations.rule,
        observations.document_id,
        documents.title,
        documents.published_date,
        documents.outlet,
        observations.observation_id
    from observations
    left join counties
        on observations.county_code = counties.county_code
    left join metrics
        on observations.metric_code = metrics.metric_code
    left join documents
        on observations.document_id = documents.document_id
)

select * from final
