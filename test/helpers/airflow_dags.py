"""Loads a folder of DAG files with Airflow's DagBag and prints what a test asserts, as JSON.

Usage: airflow_dags.py DAG_FOLDER  (AIRFLOW_HOME set to a scratch folder by the caller)
"""
import json
import sys

try:
    from airflow.dag_processing.dagbag import DagBag  # Airflow >= 3.1
except ImportError:
    from airflow.models.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])  # examples are off: AIRFLOW__CORE__LOAD_EXAMPLES=False


def seconds(delta):
    return None if delta is None else delta.total_seconds()


dags = {}
for dag_id, dag in sorted(bag.dags.items()):
    dags[dag_id] = {
        "schedule": getattr(dag.timetable, "expression", None),
        "timetable": type(dag.timetable).__name__,
        # The zone the cron expression is read in (the DAG's own, from its start_date).
        "timezone": str(getattr(dag.timetable, "timezone", None) or dag.timezone),
        "start_date": dag.start_date.isoformat() if dag.start_date else None,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "tags": sorted(dag.tags),
        "tasks": {
            t.task_id: {
                "upstream": sorted(t.upstream_task_ids),
                "mapped": type(t).__name__ == "MappedOperator" or bool(getattr(t, "get_closest_mapped_task_group", lambda: None)()),
                "execution_timeout": seconds(t.execution_timeout),
                "retries": t.retries,
                "max_active_tis_per_dagrun": t.max_active_tis_per_dagrun,
            }
            for t in dag.tasks
        },
    }
print(json.dumps({"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": dags}))
