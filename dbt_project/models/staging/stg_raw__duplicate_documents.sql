with source as (
    select * from {{ source('raw', 'duplicate_documents') }}
),

renamed as (
    select
        source_file,
        document_id as file_document_id,
        duplicate_of as document_id,
        match_kind
    from source
)

select * from renamed
