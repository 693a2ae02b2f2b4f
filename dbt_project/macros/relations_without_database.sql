{#-
    Render ref() and source() without the database part: `staging.stg_x`, not
    `"fupin.work".staging.stg_x`. dbt-duckdb names the database after the file, and the pipeline
    builds in fupin.work.duckdb and publishes a copy as fupin.duckdb; a view that named the
    working file's catalog would fail to bind in the published copy. Unqualified names resolve to
    whichever file is open.
-#}
{% macro ref() -%}
    {%- set relation = builtins.ref(*varargs, **kwargs) -%}
    {%- do return(relation.include(database=False)) -%}
{%- endmacro %}

{% macro source() -%}
    {%- set relation = builtins.source(*varargs, **kwargs) -%}
    {%- do return(relation.include(database=False)) -%}
{%- endmacro %}
