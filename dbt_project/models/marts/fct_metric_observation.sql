with observations as (
    select * from {{ ref('int_facts_deduplicated') }}
),

final as (
    select
        observation_id,
        document_id,
        county_code,
        metric_code,
        year,
        period_start_year,
        value,
        unit,
        qualifier,
        sentence,
        raw_phrase,
        start_offset,
        end_offset,
        rule,
        source_file,
        times_stated,
        fact_id,
        extractor_version
    from observations
)

select * from final
