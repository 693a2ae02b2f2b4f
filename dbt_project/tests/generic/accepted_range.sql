{#-
    Fails for every row whose column lies outside [min_value, max_value] (either bound optional,
    both inclusive). Nulls pass: use not_null for that. Narrow it with `config: {where: ...}`.
-#}
{% test accepted_range(model, column_name, min_value=none, max_value=none) %}

select *
from {{ model }}
where {{ column_name }} is not null
  and (
    false
    {%- if min_value is not none %} or {{ column_name }} < {{ min_value }}{% endif %}
    {%- if max_value is not none %} or {{ column_name }} > {{ max_value }}{% endif %}
  )

{% endtest %}
