-- Observations with a known year, ranked within their county × year × metric to choose the one
-- value fct_county_year_metric reports. The choice rule, in order:
--   1. the report published latest (a later report corrects earlier figures; unknown dates last);
--   2. the value stated by the most documents for that county, year and metric;
--   3. an exact figure over a hedged one (no qualifier such as 余 / 约 / 近);
--   4. the larger value;
--   5. document_id, then start_offset, so that the choice is deterministic.

with observations as (
    select * from {{ ref('int_facts_deduplicated') }}
    where year is not null
),

documents as (
    select
        document_id,
        published_date
    from {{ ref('stg_raw__cleaned_documents') }}
),

joined as (
    select
        observations.*,
        documents.published_date
    from observations
    left join documents
        on observations.document_id = documents.document_id
),

with_support as (
    select
        *,
        -- Observations are unique per document × county × metric × year × value, so this counts
        -- the documents that state this very value.
        count(*) over (partition by county_code, year, metric_code, value) as value_source_count
    from joined
),

ranked as (
    select
        *,
        row_number() over (
            partition by county_code, year, metric_code
            order by
                published_date desc nulls last,
                value_source_count desc,
                (qualifier is null) desc,
                value desc,
                document_id asc,
                start_offset asc
        ) as choice_rank
    from with_support
)

select * from ranked
