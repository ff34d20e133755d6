"""Trains the churn classifier: logistic regression on a customer's tenure, spend, support tickets and plan.

Reads data/customers.csv and the hyperparameters in params.json; holds out every fifth customer to
measure accuracy and log loss; writes model.json (weights and feature scaling) and metrics.json to
MLP_MODEL_DIR. Standard library only (batch gradient descent), so it runs anywhere Python 3 does.
"""
import csv
import json
import math
import os
import pathlib
import statistics

NUMERIC = ["tenure_months", "monthly_spend", "support_tickets"]
PLANS = ["basic", "plus", "pro"]

model_dir = pathlib.Path(os.environ.get("MLP_MODEL_DIR", "model"))
model_dir.mkdir(parents=True, exist_ok=True)
params = json.loads(pathlib.Path("params.json").read_text())

with open("data/customers.csv", newline="") as f:
    rows = list(csv.DictReader(f))
train_rows = [r for i, r in enumerate(rows) if i % 5]
holdout = [r for i, r in enumerate(rows) if i % 5 == 0]
scaling = {c: (statistics.fmean(float(r[c]) for r in train_rows), statistics.pstdev(float(r[c]) for r in train_rows) or 1.0) for c in NUMERIC}


def features(r):
    return [(float(r[c]) - scaling[c][0]) / scaling[c][1] for c in NUMERIC] + [1.0 if r["plan"] == p else 0.0 for p in PLANS]


def probability(w, b, x):
    z = b + sum(wi * xi for wi, xi in zip(w, x))
    return 1 / (1 + math.exp(-z))


X = [features(r) for r in train_rows]
y = [int(r["churned"]) for r in train_rows]
w, b = [0.0] * len(X[0]), 0.0
for _ in range(int(params["epochs"])):
    grad_w, grad_b = [0.0] * len(w), 0.0
    for x, label in zip(X, y):
        err = probability(w, b, x) - label
        grad_w = [g + err * xi for g, xi in zip(grad_w, x)]
        grad_b += err
    w = [wi - params["learning_rate"] * g / len(X) for wi, g in zip(w, grad_w)]
    b -= params["learning_rate"] * grad_b / len(X)

scores = [(probability(w, b, features(r)), int(r["churned"])) for r in holdout]
accuracy = statistics.fmean(1.0 if (p >= params["threshold"]) == bool(label) else 0.0 for p, label in scores)
log_loss = -statistics.fmean(math.log(p if label else 1 - p) for p, label in scores)
model = {"numeric": NUMERIC, "plans": PLANS, "scaling": scaling, "weights": w, "bias": b, "threshold": params["threshold"]}
(model_dir / "model.json").write_text(json.dumps(model))
(model_dir / "metrics.json").write_text(json.dumps({"accuracy": round(accuracy, 4), "log_loss": round(log_loss, 4), "rows": len(rows)}))
print(f"trained on {len(train_rows)} customers: holdout accuracy {accuracy:.3f}, log loss {log_loss:.3f}", flush=True)
