"""Runs one Great Expectations suite on one table, for mlp's data checks (daemon/checks/gx.ts).

Usage: python gx_runner.py REQUEST.json RESULT.json

REQUEST: {"suite": {"name": ..., "expectations": [{"type", "kwargs", "meta"}]},
          "data": {"format": "csv" | "jsonl" | "records", "path": FILE, "columns": [...]}}
  csv      the data file itself, read by pandas.read_csv
  jsonl    the data file itself: one JSON object per line
  records  rows mlp read from a warehouse: one JSON array per line, in the order of "columns"
RESULT:  {"results": [one per expectation, in suite order], "rows": N, "versions": {...}, "dtypes": {...}}
         or {"error": "missing_package", "module": ..., "message": ...}

An expectation Great Expectations cannot build (unknown type, bad kwargs) is a failed result with
the reason; the others still run. Anything else that goes wrong exits 1 with the traceback.
"""

import json
import math
import sys
import traceback

# Carried in each expectation's meta to put GX's results (grouped by column) back in suite order.
INDEX = "mlp_expectation_index"


def main(request_path, result_path):
    with open(request_path, encoding="utf-8") as f:
        request = json.load(f)
    try:
        import great_expectations as gx
        import pandas as pd
        from great_expectations.expectations.expectation_configuration import ExpectationConfiguration
    except ImportError as e:
        write(result_path, {"error": "missing_package", "module": e.name, "message": str(e)})
        return

    df = load(pd, request["data"])
    configs = request["suite"]["expectations"]
    expectations, failures = [], {}
    for i, e in enumerate(configs):
        try:
            meta = dict(e.get("meta") or {}, **{INDEX: i})
            expectations.append(ExpectationConfiguration(type=e["type"], kwargs=e["kwargs"], meta=meta).to_domain_obj())
        except Exception as ex:  # noqa: BLE001 - any reason an expectation cannot be built fails only it
            failures[i] = failed(e, f"{type(ex).__name__}: {ex}", traceback.format_exc())

    by_index = {}
    if expectations:
        context = gx.get_context(mode="ephemeral")
        batch = (
            context.data_sources.add_pandas("mlp")
            .add_dataframe_asset("data")
            .add_batch_definition_whole_dataframe("all rows")
        )
        # Built with all expectations at once: adding them one by one would merge look-alikes.
        suite = context.suites.add(gx.ExpectationSuite(name=request["suite"]["name"], expectations=expectations))
        validation = context.validation_definitions.add(gx.ValidationDefinition(name="mlp data check", data=batch, suite=suite))
        result = validation.run(
            batch_parameters={"dataframe": df},
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": 20},
        ).to_json_dict()
        for r in result["results"]:
            r["exception_info"] = flat_exception_info(r.get("exception_info"))
            by_index[r["expectation_config"]["meta"].pop(INDEX)] = r

    results = []
    for i, e in enumerate(configs):
        missing = failed(e, "Great Expectations returned no result for this expectation", None)
        results.append(failures.get(i) or by_index.get(i) or missing)
    write(
        result_path,
        {
            "results": results,
            "rows": len(df),
            "versions": {"great_expectations": gx.__version__, "pandas": pd.__version__},
            "dtypes": {str(c): str(t) for c, t in df.dtypes.items()},
        },
    )


def load(pd, data):
    if data["format"] == "csv":
        return pd.read_csv(data["path"])
    with open(data["path"], encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if data["format"] == "jsonl":
        return pd.DataFrame(rows)
    if not rows:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in data["columns"]})
    return pd.DataFrame(rows, columns=data["columns"])


def failed(e, message, trace):
    return {
        "success": False,
        "expectation_config": {"type": e["type"], "kwargs": e["kwargs"], "meta": e.get("meta") or {}},
        "result": {},
        "exception_info": {"raised_exception": True, "exception_message": message, "exception_traceback": trace},
    }


def flat_exception_info(info):
    """GX 1.x keys exception_info by metric when a metric raised; mlp reports one flat record."""
    if not info or "raised_exception" in info:
        return info or {"raised_exception": False, "exception_message": None, "exception_traceback": None}
    raised = [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    return {
        "raised_exception": bool(raised),
        "exception_message": "; ".join(dict.fromkeys(str(v.get("exception_message")) for v in raised)) or None,
        "exception_traceback": raised[0].get("exception_traceback") if raised else None,
    }


def plain(v):
    """JSON without NaN/Infinity, which JavaScript's JSON.parse rejects."""
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def write(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(plain(obj), f, allow_nan=False, default=str)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
