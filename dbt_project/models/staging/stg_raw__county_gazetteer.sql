with source as (
    select * from {{ source('raw', 'county_gazetteer') }}
),

renamed as (
    select
        county_code,
        county_name,
        county_kind,
        nullif(trim(prefecture_code), '') as prefecture_code,
        nullif(trim(prefecture_name), '') as prefecture_name,
        province_code,
        province_name
    from source
)

select * from renamed
