with metrics as (
    select * from {{ ref('stg_raw__metric_catalog') }}
),

final as (
    select
        metric_code,
        name_zh,
        name_en,
        unit,
        category,
        description,
        keywords
    from metrics
)

select * from final
