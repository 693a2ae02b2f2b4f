-- One observation per document × county × metric × year × value. The extractor may read the
-- same fact twice from one document (a figure repeated in the summary and the body); the first
-- statement (lowest start_offset) is kept and times_stated says how often it was made.

with facts as (
    select * from {{ ref('stg_raw__validated_facts') }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by document_id, county_code, metric_code, year, value
            order by start_offset asc nulls last, fact_id asc
        ) as statement_rank,
        count(*) over (
            partition by document_id, county_code, metric_code, year, value
        ) as times_stated
    from facts
),

deduplicated as (
    select
        {{ surrogate_key(['document_id', 'county_code', 'metric_code', 'year', 'value']) }}
            as observation_id,
        document_id,
        county_code,
        county_name,
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
        fact_id,
        extractor_version,
        times_stated
    from ranked
    where statement_rank = 1
)

select * from deduplicated
