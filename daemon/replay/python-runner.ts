/**
 * The Python side of `python: file.py:function` replay checks, run as `python -c RUNNER file.py function`
 * in the pipeline folder (the protocol is in docs/rollouts.md, "Python checks"). Shipped as a string so
 * the build needs no copy step.
 *
 * stdin: one JSON record per line. fd 3: one JSON line, the result. stdout and stderr are the function's
 * own (prints, warnings): the daemon keeps their tail for the report.
 */
export const PYTHON_RUNNER = String.raw`
import importlib.util, json, os, sys, traceback

def emit(result):
    with os.fdopen(3, "w", encoding="utf-8") as out:
        out.write(json.dumps(result, default=plain) + "\n")

def plain(value):
    # numpy scalars and arrays, sets, anything else: as close to JSON as it gets
    for attr in ("item", "tolist"):
        if hasattr(value, attr):
            try:
                return getattr(value, attr)()
            except Exception:
                pass
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)

def failure(kind, exc):
    # The data scientist's frames only: not this runner's (<string>) nor importlib's.
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != "<string>" and not f.filename.startswith("<frozen importlib")]
    last = "".join(traceback.format_exception_only(type(exc), exc))
    return {"error": kind, "message": last.strip().splitlines()[-1], "traceback": "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) + last}

def as_bool(value):
    # A numpy comparison (numpy.bool_) is a boolean; "false", 0 or None are not: the truthiness of
    # "false" would pass a check that said it failed.
    if not isinstance(value, bool) and hasattr(value, "item"):
        try:
            value = value.item()
        except Exception:
            return None
    return value if isinstance(value, bool) else None

def judge(spec, r):
    if r is None or r is True:
        return {"passed": True}
    if r is False:
        return {"passed": False, "reason": "the function returned False"}
    if isinstance(r, str):
        return {"passed": False, "reason": r}
    if isinstance(r, dict) and "passed" in r:
        passed = as_bool(r["passed"])
        if passed is None:
            shown = json.dumps(r, default=plain)
            shown = shown if len(shown) <= 200 else shown[:200] + "..."
            return {"error": "bad_return", "message": '%s returned %s: "passed" must be true or false' % (spec, shown)}
        return {"passed": passed, "reason": r.get("reason"), "observed": r.get("observed")}
    return {"error": "bad_return", "message": "the function returned %.200r: expected True or None (pass), False or a string (fail), or a dict with 'passed'" % (r,)}

def main():
    path, name = sys.argv[1], sys.argv[2]
    full = os.path.abspath(path)
    if not os.path.isfile(full):
        return emit({"error": "missing_file", "message": "%s: no such file in %s" % (path, os.getcwd())})
    sys.path.insert(0, os.getcwd())
    sys.path.insert(0, os.path.dirname(full))
    try:
        spec = importlib.util.spec_from_file_location("mlp_replay_check", full)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    except BaseException as e:
        return emit(failure("import_failed", e))
    fn = getattr(module, name, None)
    if not callable(fn):
        found = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module.__name__)
        has = " (it has: %s)" % ", ".join(found) if found else ""
        return emit({"error": "missing_function", "message": "%s has no function %s%s" % (path, name, has)})
    records = [json.loads(line) for line in sys.stdin if line.strip()]
    try:
        result = fn(records)
    except BaseException as e:
        return emit(failure("exception", e))
    emit(judge("%s:%s" % (path, name), result))

main()
`;
