-- Numbers with a unit that no metric claimed, with the document they come from: the to-do list
-- for the metric catalog.
-- A view: it is five times the size of the facts (every number no metric claimed, with its
-- sentence), read rarely, and as a table it doubled the largest raw table in every published copy.
-- It reads the raw table, not its staging view: the published warehouse holds the marts and the
-- raw tables only, and a view must resolve there. The staging model's tests still guard the table.
{{ config(materialized='view') }}

with mentions as (
    select * from {{ source('raw', 'unclassified_mentions') }}
),

documents as (
    select * from {{ ref('dim_document') }}
),

final as (
    select
        mentions.document_id,
        mentions.source_file,
        mentions.sentence,
        mentions.phrase,
        mentions.value,
        mentions.unit,
        documents.title,
        documents.county_code,
        documents.county_name,
        mentions.start_offset,
        mentions.end_offset,
        mentions.mention_id
    from mentions
    left join documents
        on mentions.document_id = documents.document_id
)

select * from final
