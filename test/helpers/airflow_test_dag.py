"""Runs one DAG of a folder with dag.test() (in this process, tasks in order, no scheduler or
webserver) and prints the outcome as JSON on the last line: the run's state and each task
instance's state, map index and rendered map index (the group).

Usage: airflow_test_dag.py DAG_FOLDER DAG_ID  (AIRFLOW_HOME with a migrated database, set by the caller)
"""
import json
import sys

try:
    from airflow.dag_processing.dagbag import DagBag  # Airflow >= 3.1
except ImportError:
    from airflow.models.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
if bag.import_errors:
    print(json.dumps({"import_errors": {k: str(v) for k, v in bag.import_errors.items()}}))
    sys.exit(1)
run = bag.dags[sys.argv[2]].test()
tasks = [
    {"task": ti.task_id, "map_index": ti.map_index, "group": ti.rendered_map_index, "state": str(ti.state)}
    for ti in sorted(run.get_task_instances(), key=lambda ti: (ti.task_id, ti.map_index))
]
print(json.dumps({"state": str(run.state), "tasks": tasks}))
