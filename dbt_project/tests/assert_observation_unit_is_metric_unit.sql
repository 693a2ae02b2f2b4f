-- Every observation is in its metric's canonical unit (validation enforces it; this guards the
-- marts against a catalog that changed under old facts).
select
    observations.observation_id,
    observations.metric_code,
    observations.unit,
    metrics.unit as metric_unit
from {{ ref('fct_metric_observation') }} as observations
inner join {{ ref('dim_metric') }} as metrics
    on observations.metric_code = metrics.metric_code
where observations.unit <> metrics.unit
