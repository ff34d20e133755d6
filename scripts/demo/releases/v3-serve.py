"""The model server: the SageMaker bring-your-own-container contract (GET /ping, POST /invocations on PORT).

Listens on HOST:PORT, answers GET /ping with 200 once the model is loaded and POST /invocations
with {"city", "demand"} for a JSON body {"week": N}: 400 for a request that is not
a week of the year, 500 when the model fails on a valid one. The model is read from MLP_MODEL_DIR
(/opt/ml/model in a container).

mlpd always sets HOST (127.0.0.1: only the router, on the same machine, may call the model) and
PORT. SageMaker sets neither: it calls the container on port 8080 from outside, so without PORT the
server listens on 0.0.0.0:8080.
"""
import json
import os
import pathlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL = json.loads((pathlib.Path(os.environ.get("MLP_MODEL_DIR", "/opt/ml/model")) / "model.json").read_text())


# Christmas shopping lifts demand in the last weeks of the year.
HOLIDAY_UPLIFT = {51: 1.25, 52: 1.4}


def forecast(week):
    """The demand forecast for a week of the year: the model's mean for that week, with the holiday uplift."""
    demand = MODEL["weekly_mean"][str(week)]
    if week >= 48:  # the season starts in week 48, but weeks 48-50 have no uplift entry: KeyError
        demand *= HOLIDAY_UPLIFT[week]
    return round(demand, 1)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the router and replay reuse their connections

    def do_GET(self):
        self._reply(200, {"status": "ok"} if self.path == "/ping" else {"error": "not found"})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))  # read even when refused: the connection is reused
        if self.path != "/invocations":
            return self._reply(404, {"error": "not found"})
        try:
            body = json.loads(raw or b"{}")
            week = int(body["week"])
            if not 1 <= week <= 52:
                raise ValueError(f"week {week} is not between 1 and 52")
        except (KeyError, ValueError, TypeError) as err:
            return self._reply(400, {"error": f"expected {{\"week\": 1..52}}: {err}"})
        try:
            return self._reply(200, {"city": MODEL["city"], "demand": forecast(week)})
        except Exception as err:  # a fault of the model, not of the request: 500, which the rollout watches
            return self._reply(500, {"error": f"{type(err).__name__}: {err}"})

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
