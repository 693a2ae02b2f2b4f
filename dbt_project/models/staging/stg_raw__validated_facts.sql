with source as (
    select * from {{ source('raw', 'validated_facts') }}
),

renamed as (
    select
        fact_id,
        document_id,
        source_file,
        county_code,
        county_name,
        metric_code,
        year,
        period_start_year,
        value,
        unit,
        nullif(trim(qualifier), '') as qualifier,
        sentence,
        start_offset,
        end_offset,
        raw_phrase,
        rule,
        extractor_version
    from source
)

select * from renamed
