"""Integration tests, run by the rollout against the silent candidate (MLP_ENDPOINT_URL)."""
import json
import os
import urllib.error
import urllib.request

ENDPOINT = os.environ.get("MLP_ENDPOINT_URL", "http://127.0.0.1:8080")


def invoke(body):
    req = urllib.request.Request(f"{ENDPOINT}/invocations", data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as res:
        return json.loads(res.read())


def test_a_loyal_customer_stays_and_an_unhappy_one_is_at_risk():
    loyal = invoke({"tenure_months": 60, "monthly_spend": 89, "support_tickets": 0, "plan": "pro"})
    unhappy = invoke({"tenure_months": 2, "monthly_spend": 19, "support_tickets": 8, "plan": "basic"})
    assert 0 <= loyal["churn_probability"] < unhappy["churn_probability"] <= 1
    assert loyal["label"] == "stay"


def test_an_unknown_plan_is_a_client_error():
    try:
        invoke({"tenure_months": 2, "monthly_spend": 19, "support_tickets": 0, "plan": "gold"})
    except urllib.error.HTTPError as err:
        assert err.code == 400
    else:
        raise AssertionError("an unknown plan must be refused")
