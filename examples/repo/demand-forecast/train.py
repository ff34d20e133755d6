"""Trains one demand model per city (MLP_GROUP): the mean demand per week of the year.

Reads data/demand.csv, writes model.json and metrics.json to MLP_MODEL_DIR. Standard library
only, so it runs the same with --local, --docker and --cloud.
"""
import csv
import json
import os
import pathlib
import statistics

city = os.environ.get("MLP_GROUP", "london")
model_dir = pathlib.Path(os.environ.get("MLP_MODEL_DIR", "model"))
model_dir.mkdir(parents=True, exist_ok=True)

by_week: dict[int, list[float]] = {}
with open("data/demand.csv", newline="") as f:
    for row in csv.DictReader(f):
        if row["city"] == city:
            by_week.setdefault(int(row["week"]), []).append(float(row["demand"]))
if not by_week:
    raise SystemExit(f"no rows for city {city!r} in data/demand.csv")

model = {"city": city, "weekly_mean": {str(w): statistics.fmean(v) for w, v in sorted(by_week.items())}}
errors = [abs(x - model["weekly_mean"][str(w)]) for w, v in by_week.items() for x in v]
(model_dir / "model.json").write_text(json.dumps(model))
(model_dir / "metrics.json").write_text(json.dumps({"mae": round(statistics.fmean(errors), 3), "rows": len(errors)}))
print(f"trained {city}: {len(by_week)} weeks, {len(errors)} rows, mae {statistics.fmean(errors):.2f}", flush=True)
