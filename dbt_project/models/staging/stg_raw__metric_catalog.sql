with source as (
    select * from {{ source('raw', 'metric_catalog') }}
),

renamed as (
    select
        metric_code,
        name_zh,
        name_en,
        unit,
        category,
        description,
        keywords
    from source
)

select * from renamed
