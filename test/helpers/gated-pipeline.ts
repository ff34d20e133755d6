/**
 * The gated-rollout pipeline's code (test/e2e/rollout.test.ts, test/e2e/tui.test.ts): a model whose failures come
 * from behaviour.json, so each deploy can be told what the next version will do wrong.
 */
/** Training copies behaviour.json (what the next model will do wrong) into the model. */
export const GATED_TRAIN_PY = `import json, os, pathlib, shutil
model = pathlib.Path(os.environ["MLP_MODEL_DIR"])
behaviour = json.loads(pathlib.Path("behaviour.json").read_text()) if pathlib.Path("behaviour.json").exists() else {}
(model / "model.json").write_text(json.dumps({"behaviour": behaviour}))
print("trained with", behaviour, flush=True)
`;

/** Answers {"y": 2x}; fails (500) where its behaviour says: x % fail_mod == 0, or x >= fail_above. */
export const GATED_SERVE_PY = `import json, os, pathlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
b = json.loads((pathlib.Path(os.environ["MLP_MODEL_DIR"]) / "model.json").read_text())["behaviour"]
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.reply(200, {"ok": True})
    def do_POST(self):
        x = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))["x"]
        if ("fail_mod" in b and x % b["fail_mod"] == 0) or ("fail_above" in b and x >= b["fail_above"]):
            return self.reply(500, {"error": "boom"})
        self.reply(200, {"y": 2 * x, "v": os.environ["MLP_VARIANT"]})
    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])), H).serve_forever()
`;

/** The integration tests: the candidate (MLP_ENDPOINT_URL) must double x. */
export const GATED_IT_PY = `import json, os, urllib.request
req = urllib.request.Request(os.environ["MLP_ENDPOINT_URL"] + "/invocations", data=b'{"x": 22}', headers={"content-type": "application/json"})
answer = json.loads(urllib.request.urlopen(req).read())
assert answer["y"] == 44, answer
print("integration ok against", answer["v"], flush=True)
`;
