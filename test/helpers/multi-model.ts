/**
 * A multi-model server for `serve.mode: multi-model` (docs/serving.md, "Multi-model serving"): SageMaker's
 * multi-model container contract in the Python standard library. It is the gated pipeline's model
 * (gated-pipeline.ts) once per loaded folder: each model's failures come from the behaviour training copied into
 * it, so a test can give one group's next version a fault and leave the others good.
 */

/** Training writes the group and behaviour.json (what the next model will do wrong) into the model. */
export const MULTI_MODEL_TRAIN_PY = `import json, os, pathlib
model = pathlib.Path(os.environ["MLP_MODEL_DIR"])
behaviour = json.loads(pathlib.Path("behaviour.json").read_text()) if pathlib.Path("behaviour.json").exists() else {}
(model / "model.json").write_text(json.dumps({"group": os.environ["MLP_GROUP"], "behaviour": behaviour}))
`;

/**
 * GET /ping; POST /models {"model_name", "url"} loads model.json from the folder `url` (409 when the name is loaded,
 * 404 when the folder has no model); GET /models, GET /models/<name>; DELETE /models/<name>; POST
 * /models/<name>/invoke answers {"y": 2x, "model": name, "group": ...}, or 500 where the model's behaviour says
 * (x % fail_mod == 0, or x >= fail_above).
 */
export const MULTI_MODEL_SERVE_PY = `import json, os, pathlib, re, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

models = {}
lock = threading.Lock()
ONE = re.compile(r"^/models/([A-Za-z0-9._~-]+)$")
INVOKE = re.compile(r"^/models/([A-Za-z0-9._~-]+)/invoke$")

class Server(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if self.path == "/ping":
            return self.reply(200, {"ok": True})
        if self.path == "/models":
            return self.reply(200, {"models": [{"modelName": n, "modelUrl": m["url"]} for n, m in sorted(models.items())]})
        one = ONE.match(self.path)
        if one and one[1] in models:
            return self.reply(200, {"modelName": one[1], "modelUrl": models[one[1]]["url"]})
        self.reply(404, {"error": f"no model at {self.path}"})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/models":
            return self.load(json.loads(body))
        invoke = INVOKE.match(self.path)
        model = models.get(invoke[1]) if invoke else None
        if model is None:
            return self.reply(404, {"error": f"no model loaded for {self.path}"})
        x, b = json.loads(body)["x"], model["behaviour"]
        if ("fail_mod" in b and x % b["fail_mod"] == 0) or ("fail_above" in b and x >= b["fail_above"]):
            return self.reply(500, {"error": "boom"})
        self.reply(200, {"y": 2 * x, "model": invoke[1], "group": model["group"]})

    def do_DELETE(self):
        one = ONE.match(self.path)
        with lock:
            gone = models.pop(one[1], None) if one else None
        self.reply(200 if gone else 404, {"unloaded": one[1]} if gone else {"error": f"no model at {self.path}"})

    def load(self, request):
        name, url = request["model_name"], request["url"]
        try:
            model = json.loads((pathlib.Path(url) / "model.json").read_text())
        except OSError as e:
            return self.reply(404, {"error": f"cannot load {name} from {url}: {e}"})
        with lock:
            if name in models:
                return self.reply(409, {"error": f"{name} is loaded already"})
            models[name] = {"url": url, **model}
        self.reply(200, {"loaded": name})

    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass

ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])), Server).serve_forever()
`;

/** Integration tests that hold in both serving modes: MLP_INVOCATIONS_URL is the candidate's invocations. */
export const MULTI_MODEL_IT_PY = `import json, os, urllib.request
req = urllib.request.Request(os.environ["MLP_INVOCATIONS_URL"], data=b'{"x": 22}', headers={"content-type": "application/json"})
answer = json.loads(urllib.request.urlopen(req).read())
assert answer["y"] == 44 and answer["model"] == os.environ["MLP_MODEL_NAME"], answer
print("integration ok against", answer["model"], flush=True)
`;
