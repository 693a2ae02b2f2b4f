with source as (
    select * from {{ source('raw', 'unclassified_mentions') }}
),

renamed as (
    select
        mention_id,
        document_id,
        source_file,
        sentence,
        phrase,
        value,
        unit,
        start_offset,
        end_offset
    from source
)

select * from renamed
