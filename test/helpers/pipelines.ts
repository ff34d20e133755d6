/**
 * A small but real pipeline repo: a SQLite warehouse with cities, a preprocess step that writes
 * features, a train step that reads them and saves a model with metrics, and a model server.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { makeRepo } from './repo.js';

export const PREPROCESS_PY = `import json, os, pathlib
group = os.environ["MLP_GROUP"]
out = pathlib.Path(os.environ["MLP_OUTPUT_DIR"])
(out / "features.json").write_text(json.dumps({"group": group, "rows": len(group)}))
print(f"preprocessed {group}", flush=True)
`;

export const TRAIN_PY = `import json, os, pathlib, sys
env = {k: os.environ.get(k) for k in ["MLP_GROUP", "MLP_RUN_ID", "MLP_MODEL_DIR", "SM_MODEL_DIR", "MLP_INPUT_DIR", "MLP_OUTPUT_DIR"]}
print("env " + json.dumps(env), flush=True)
group = env["MLP_GROUP"]
if os.environ.get("FAIL_GROUP") == group or pathlib.Path("fail-" + group).exists():
    print(f"ValueError: cannot train {group}", file=sys.stderr, flush=True)
    sys.exit(3)
features_file = pathlib.Path(env["MLP_INPUT_DIR"]) / "features.json"
features = json.loads(features_file.read_text()) if features_file.exists() else {"rows": 0}
model = pathlib.Path(env["MLP_MODEL_DIR"])
(model / "model.json").write_text(json.dumps({"group": group, "scale": features["rows"]}))
(model / "metrics.json").write_text(json.dumps({"rmse": 1.5}))
print(f"trained {group} on {features['rows']} rows", flush=True)
`;

/**
 * A model server following the serving contract: GET /ping, POST /invocations with JSON
 * {"x": n} -> {"y": n * scale, "group", "model"}. Test hooks in the request: {"sleep": seconds},
 * {"fail": true} (answers 500); a body that is not JSON gets 400.
 */
export const SERVE_PY = `import json, os, pathlib, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
model = json.loads((pathlib.Path(os.environ["MLP_MODEL_DIR"]) / "model.json").read_text())
print(f"serving {model['group']} on {os.environ['PORT']}", flush=True)

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.reply(200 if self.path == "/ping" else 404, {"status": "ok"})
    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            body = json.loads(raw)
        except ValueError:
            return self.reply(400, {"error": "not JSON"})
        if body.get("sleep"):
            time.sleep(body["sleep"])
        if body.get("fail"):
            return self.reply(500, {"error": "model exploded"})
        self.reply(200, {"y": body.get("x", 0) * (model["scale"] + 1), "group": model["group"], "model": os.environ.get("MLP_VARIANT")})
    def reply(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *args):
        pass

ThreadingHTTPServer((os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])), Handler).serve_forever()
`;

export function pipelineRepo(opts: { cities?: string[]; pipelineYaml?: string; extra?: Record<string, string> } = {}): string {
  const repo = makeRepo({
    'mlp.yaml': 'warehouses:\n  warehouse: sqlite:warehouse.db\n',
    'forecast/pipeline.yaml':
      opts.pipelineYaml ??
      `pipeline:
  name: forecast
  groups:
    generate: true
    source: warehouse.cities
  steps:
    - name: preprocess
      command: python3 preprocess.py
    - name: train
      command: python3 train.py
`,
    'forecast/preprocess.py': PREPROCESS_PY,
    'forecast/train.py': TRAIN_PY,
    'forecast/serve.py': SERVE_PY,
    ...opts.extra,
  });
  const db = new Database(join(repo, 'warehouse.db'));
  db.exec('CREATE TABLE cities (name TEXT, population INTEGER)');
  const insert = db.prepare('INSERT INTO cities VALUES (?, ?)');
  for (const city of opts.cities ?? ['london', 'paris']) insert.run(city, 1);
  db.close();
  return repo;
}
