with source as (
    select * from {{ source('raw', 'rejected_documents') }}
),

renamed as (
    select
        source_file,
        content_hash,
        stage,
        reason,
        rejected_at
    from source
)

select * from renamed
