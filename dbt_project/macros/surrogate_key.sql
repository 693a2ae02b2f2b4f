{#-
    A deterministic key: md5 of the given columns cast to text and joined with '|', nulls written
    as '_null_' so that (null, 'a') and ('', 'a') differ. Same idea as dbt_utils.generate_surrogate_key.
-#}
{% macro surrogate_key(columns) -%}
    md5(concat_ws('|'
    {%- for column in columns %}, coalesce(cast({{ column }} as varchar), '_null_'){% endfor -%}
    ))
{%- endmacro %}
