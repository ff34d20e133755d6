"""Integration tests, run by the rollout against the silent candidate (MLP_ENDPOINT_URL)."""
import json
import os
import urllib.error
import urllib.request

ENDPOINT = os.environ.get("MLP_ENDPOINT_URL", "http://127.0.0.1:8080")


def invoke(body):
    req = urllib.request.Request(f"{ENDPOINT}/invocations", data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as res:
        return res.status, json.loads(res.read())


def test_ping():
    with urllib.request.urlopen(f"{ENDPOINT}/ping", timeout=10) as res:
        assert res.status == 200


def test_forecast_is_a_plausible_demand():
    status, answer = invoke({"week": 12})
    assert status == 200
    assert answer["city"] == os.environ["MLP_GROUP"]
    assert 0 < answer["demand"] < 10_000


def test_bad_week_is_a_client_error():
    try:
        invoke({"week": "soon"})
    except urllib.error.HTTPError as err:
        assert err.code == 400
    else:
        raise AssertionError("a week that is not a number must be refused")
