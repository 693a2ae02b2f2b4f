-- Everything the pipeline refused, in one audit table: files that did not become documents and
-- extracted facts that failed validation.

with rejected_documents as (
    select * from {{ ref('stg_raw__rejected_documents') }}
),

rejected_facts as (
    select * from {{ ref('stg_raw__rejected_facts') }}
),

kept_documents as (
    select source_file, document_id
    from {{ ref('stg_raw__cleaned_documents') }}
),

documents as (
    select
        'document' as kind,
        rejected_documents.source_file,
        kept_documents.document_id,
        rejected_documents.stage,
        rejected_documents.reason,
        cast(null as varchar) as detail,
        cast(null as varchar) as fact_id,
        cast(null as varchar) as county_code,
        cast(null as varchar) as metric_code,
        cast(null as integer) as year,
        cast(null as double) as value,
        cast(null as varchar) as raw_phrase,
        cast(null as varchar) as sentence,
        rejected_documents.rejected_at
    from rejected_documents
    left join kept_documents
        on rejected_documents.source_file = kept_documents.source_file
),

facts as (
    select
        'fact' as kind,
        source_file,
        document_id,
        'validate' as stage,
        failed_check as reason,
        failure_detail as detail,
        fact_id,
        county_code,
        metric_code,
        year,
        value,
        raw_phrase,
        sentence,
        cast(null as timestamp) as rejected_at
    from rejected_facts
),

unioned as (
    select * from documents
    union all
    select * from facts
),

final as (
    select
        {{ surrogate_key(['kind', 'source_file', 'fact_id', 'reason', 'detail']) }} as rejection_id,
        *
    from unioned
)

select * from final
