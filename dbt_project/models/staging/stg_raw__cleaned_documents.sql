with source as (
    select * from {{ source('raw', 'cleaned_documents') }}
),

renamed as (
    select
        document_id,
        source_file,
        content_hash,
        text_fingerprint,
        nullif(trim(title), '') as title,
        published_date,
        cast(year(published_date) as integer) as publication_year,
        nullif(trim(outlet), '') as outlet,
        nullif(trim(author), '') as author,
        nullif(trim(url), '') as url,
        coalesce(is_work_report, false) as is_work_report,
        county_code,
        county_name,
        char_count,
        cleaner_version
    from source
)

select * from renamed
