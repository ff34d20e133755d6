"""Trains one demand model per city (MLP_GROUP): the mean demand per week of the year.

Reads data/demand.csv and the hyperparameters in params.json, writes model.json and metrics.json
to MLP_MODEL_DIR. `smoothing_weeks` averages each week with that many neighbours on each side
(the year wraps around), which evens out one-off spikes. Standard library only, so it runs the
same with --local, --docker and --cloud.
"""
import csv
import json
import os
import pathlib
import statistics

city = os.environ.get("MLP_GROUP", "london")
model_dir = pathlib.Path(os.environ.get("MLP_MODEL_DIR", "model"))
model_dir.mkdir(parents=True, exist_ok=True)
params = json.loads(pathlib.Path("params.json").read_text())
smoothing = int(params.get("smoothing_weeks", 0))

by_week: dict[int, list[float]] = {}
with open("data/demand.csv", newline="") as f:
    for row in csv.DictReader(f):
        if row["city"] == city:
            by_week.setdefault(int(row["week"]), []).append(float(row["demand"]))
if not by_week:
    raise SystemExit(f"no rows for city {city!r} in data/demand.csv")

weeks = sorted(by_week)
mean = {w: statistics.fmean(by_week[w]) for w in weeks}


def smoothed(week: int) -> float:
    i = weeks.index(week)
    around = [weeks[(i + d) % len(weeks)] for d in range(-smoothing, smoothing + 1)]
    return statistics.fmean(mean[w] for w in around)


model = {"city": city, "params": params, "weekly_mean": {str(w): round(smoothed(w), 3) for w in weeks}}
errors = [abs(x - model["weekly_mean"][str(w)]) for w, v in by_week.items() for x in v]
(model_dir / "model.json").write_text(json.dumps(model))
(model_dir / "metrics.json").write_text(json.dumps({"mae": round(statistics.fmean(errors), 3), "rows": len(errors), **params}))
print(f"trained {city}: {len(weeks)} weeks, {len(errors)} rows, smoothing {smoothing}, mae {statistics.fmean(errors):.2f}", flush=True)
