"""The churn model server (the SageMaker bring-your-own-container contract, as demand-forecast's).

POST /invocations with a customer {"tenure_months", "monthly_spend", "support_tickets", "plan"}
answers {"churn_probability": 0..1, "label": "churn" | "stay"}; 400 for a request that is not a
customer; GET /ping answers 200 once the model is loaded. Listens on HOST:PORT (set by mlpd).
"""
import json
import math
import os
import pathlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = json.loads((pathlib.Path(os.environ.get("MLP_MODEL_DIR", "/opt/ml/model")) / "model.json").read_text())


def score(customer):
    x = [(float(customer[c]) - MODEL["scaling"][c][0]) / MODEL["scaling"][c][1] for c in MODEL["numeric"]]
    if customer["plan"] not in MODEL["plans"]:
        raise ValueError(f"plan {customer['plan']!r} is not one of {', '.join(MODEL['plans'])}")
    x += [1.0 if customer["plan"] == p else 0.0 for p in MODEL["plans"]]
    z = MODEL["bias"] + sum(w * xi for w, xi in zip(MODEL["weights"], x))
    p = 1 / (1 + math.exp(-z))
    return {"churn_probability": round(p, 4), "label": "churn" if p >= MODEL["threshold"] else "stay"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the router and replay reuse their connections

    def do_GET(self):
        self._reply(200, {"status": "ok"} if self.path == "/ping" else {"error": "not found"})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))  # read even when refused: the connection is reused
        if self.path != "/invocations":
            return self._reply(404, {"error": "not found"})
        try:
            customer = json.loads(raw or b"{}")
            answer = score(customer)
        except (KeyError, ValueError, TypeError) as err:
            return self._reply(400, {"error": f"expected a customer {{\"tenure_months\", \"monthly_spend\", \"support_tickets\", \"plan\"}}: {err}"})
        return self._reply(200, answer)

    def _reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


HOST = os.environ.get("HOST") or ("127.0.0.1" if "PORT" in os.environ else "0.0.0.0")
ThreadingHTTPServer((HOST, int(os.environ.get("PORT", "8080"))), Handler).serve_forever()
