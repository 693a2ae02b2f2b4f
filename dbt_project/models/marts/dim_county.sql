with counties as (
    select * from {{ ref('stg_raw__county_gazetteer') }}
),

documents as (
    select document_id, county_code
    from {{ ref('stg_raw__cleaned_documents') }}
),

observations as (
    select document_id, county_code
    from {{ ref('int_facts_deduplicated') }}
),

-- A county is reported on by a document that is about it or states a figure about it.
county_documents as (
    select county_code, document_id from documents
    union
    select county_code, document_id from observations
),

report_counts as (
    select
        county_code,
        count(distinct document_id) as report_count
    from county_documents
    group by county_code
),

subject_counts as (
    select
        county_code,
        count(*) as subject_report_count
    from documents
    group by county_code
),

observation_counts as (
    select
        county_code,
        count(*) as observation_count
    from observations
    group by county_code
),

final as (
    select
        counties.county_code,
        counties.county_name,
        counties.county_kind,
        counties.prefecture_code,
        counties.prefecture_name,
        counties.province_code,
        counties.province_name,
        coalesce(report_counts.report_count, 0) > 0 as has_reports,
        coalesce(report_counts.report_count, 0) as report_count,
        coalesce(subject_counts.subject_report_count, 0) as subject_report_count,
        coalesce(observation_counts.observation_count, 0) as observation_count
    from counties
    left join report_counts
        on counties.county_code = report_counts.county_code
    left join subject_counts
        on counties.county_code = subject_counts.county_code
    left join observation_counts
        on counties.county_code = observation_counts.county_code
)

select * from final
