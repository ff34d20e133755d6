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
    ...opts.extra,
  });
  const db = new Database(join(repo, 'warehouse.db'));
  db.exec('CREATE TABLE cities (name TEXT, population INTEGER)');
  const insert = db.prepare('INSERT INTO cities VALUES (?, ?)');
  for (const city of opts.cities ?? ['london', 'paris']) insert.run(city, 1);
  db.close();
  return repo;
}
