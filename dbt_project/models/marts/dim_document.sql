with documents as (
    select * from {{ ref('stg_raw__cleaned_documents') }}
),

duplicates as (
    select
        document_id,
        count(*) as duplicate_file_count,
        string_agg(source_file, ' | ' order by source_file) as duplicate_files
    from {{ ref('stg_raw__duplicate_documents') }}
    group by document_id
),

observations as (
    select
        document_id,
        count(*) as fact_count,
        count(distinct county_code) as county_count
    from {{ ref('int_facts_deduplicated') }}
    group by document_id
),

rejected_facts as (
    select
        document_id,
        count(distinct fact_id) as rejected_fact_count
    from {{ ref('stg_raw__rejected_facts') }}
    group by document_id
),

mentions as (
    select
        document_id,
        count(*) as unclassified_mention_count
    from {{ ref('stg_raw__unclassified_mentions') }}
    group by document_id
),

final as (
    select
        documents.document_id,
        documents.source_file,
        documents.title,
        documents.published_date,
        documents.publication_year,
        documents.outlet,
        documents.author,
        documents.url,
        documents.content_hash,
        documents.text_fingerprint,
        documents.county_code,
        documents.county_name,
        documents.char_count,
        documents.cleaner_version,
        coalesce(observations.fact_count, 0) as fact_count,
        coalesce(observations.county_count, 0) as county_count,
        coalesce(rejected_facts.rejected_fact_count, 0) as rejected_fact_count,
        coalesce(mentions.unclassified_mention_count, 0) as unclassified_mention_count,
        coalesce(duplicates.duplicate_file_count, 0) as duplicate_file_count,
        duplicates.duplicate_files
    from documents
    left join observations
        on documents.document_id = observations.document_id
    left join rejected_facts
        on documents.document_id = rejected_facts.document_id
    left join mentions
        on documents.document_id = mentions.document_id
    left join duplicates
        on documents.document_id = duplicates.document_id
)

select * from final
