{#-
    The sources' descriptions as table and column comments on the raw tables, as persist_docs does
    for the models: the published warehouse carries the raw evidence tables, and BI tools (DBeaver,
    Superset, duckdb_columns()) show what each table and column means. Run at the end of every
    build (on-run-end): the Python stages replace the raw tables, which drops their comments.
    Committed here: statements run while a hook renders are otherwise rolled back.
-#}
{% macro persist_source_docs() %}
    {%- if execute and flags.WHICH in ('build', 'run') -%}
        {%- set statements = [] -%}
        {%- for source in graph.sources.values() -%}
            {%- set relation = adapter.get_relation(
                database=source.database, schema=source.schema, identifier=source.identifier
            ) -%}
            {%- if relation is not none -%}
                {%- if source.description -%}
                    {%- do statements.append(alter_relation_comment(relation, source.description)) -%}
                {%- endif -%}
                {%- set documented = {} -%}
                {%- for name, column in source.columns.items() if column.description -%}
                    {%- do documented.update({name: column}) -%}
                {%- endfor -%}
                {%- if documented -%}
                    {%- do statements.append(alter_column_comment(relation, documented)) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if statements -%}
            {%- do run_query(statements | join('\n')) -%}
            {%- do adapter.commit() -%}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
