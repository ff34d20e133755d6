/**
 * A generated fleet: a repo of `pipelines` pipelines with `groups` groups each (from one warehouse
 * table), served by the smallest Python model server there is (a socket loop, no http.server), and a
 * data dir whose store says a version of some of them is live, as if they had been deployed and the
 * daemon restarted. Used by the restart tests and `npm run bench:fleet`.
 */
import Database from 'better-sqlite3';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { artifactDir } from '../../daemon/runs/artifacts.js';
import { openStore } from '../../daemon/store/db.js';
import { makeRepo } from './repo.js';

/**
 * GET /ping and POST /invocations (the body back with the group: {"group": ..., "body": ...}) on HOST:PORT,
 * keep-alive, many connections in one thread (select): the least a model server can be, so a fleet's
 * memory and start-up are the daemon's, not the models'.
 */
export const TINY_SERVE_PY = `import os, select, socket
group = os.environ["MLP_GROUP"].encode()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])))
s.listen(64)
pending = {}
def answer(c, buf):
    while b"\\r\\n\\r\\n" in buf:
        head, _, rest = buf.partition(b"\\r\\n\\r\\n")
        length = 0
        for line in head.split(b"\\r\\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        if len(rest) < length:
            break
        body, buf = rest[:length], rest[length:]
        if head.startswith(b"GET /ping"):
            status, out = b"200 OK", b"{}"
        elif head.startswith(b"POST /invocations"):
            status, out = b"200 OK", b'{"group": "' + group + b'", "body": ' + (body or b"null") + b"}"
        else:
            status, out = b"404 Not Found", b"{}"
        c.sendall(b"HTTP/1.1 " + status + b"\\r\\ncontent-type: application/json\\r\\ncontent-length: " + str(len(out)).encode() + b"\\r\\n\\r\\n" + out)
    return buf
while True:
    ready, _, _ = select.select([s, *pending], [], [])
    for c in ready:
        if c is s:
            pending[s.accept()[0]] = b""
            continue
        try:
            chunk = c.recv(65536)
            if chunk:
                pending[c] = answer(c, pending[c] + chunk)
                continue
        except (OSError, ValueError):
            pass
        del pending[c]
        c.close()
`;

/**
 * The same server in multi-model form (serve.mode multi-model, SageMaker's multi-model contract): GET /ping,
 * POST /models {"model_name", "url"} reads the group from url/model.txt (409 when loaded, 404 without it), GET
 * /models, DELETE /models/<name>, and POST /models/<name>/invoke answering as the per-group server does.
 */
export const TINY_MULTI_MODEL_SERVE_PY = `import json, os, select, socket
models = {}
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((os.environ.get("HOST", "127.0.0.1"), int(os.environ["PORT"])))
s.listen(64)
pending = {}
def handle(method, path, body):
    if method == b"GET" and path == b"/ping":
        return b"200 OK", b"{}"
    if path == b"/models":
        if method == b"GET":
            return b"200 OK", json.dumps({"models": [{"modelName": n, "modelUrl": m[0]} for n, m in models.items()]}).encode()
        load = json.loads(body)
        name = load["model_name"]
        if name in models:
            return b"409 Conflict", b"{}"
        try:
            with open(os.path.join(load["url"], "model.txt"), "rb") as f:
                models[name] = (load["url"], f.read())
        except OSError as e:
            return b"404 Not Found", json.dumps({"error": str(e)}).encode()
        return b"200 OK", b"{}"
    parts = path.decode().split("/")
    if len(parts) < 3 or parts[1] != "models" or parts[2] not in models:
        return b"404 Not Found", b"{}"
    if method == b"DELETE" and len(parts) == 3:
        del models[parts[2]]
        return b"200 OK", b"{}"
    if method == b"POST" and len(parts) == 4 and parts[3] == "invoke":
        return b"200 OK", b'{"group": "' + models[parts[2]][1] + b'", "body": ' + (body or b"null") + b"}"
    return b"404 Not Found", b"{}"
def answer(c, buf):
    while b"\\r\\n\\r\\n" in buf:
        head, _, rest = buf.partition(b"\\r\\n\\r\\n")
        length = 0
        for line in head.split(b"\\r\\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        if len(rest) < length:
            break
        body, buf = rest[:length], rest[length:]
        method, path = head.split(b" ")[:2]
        status, out = handle(method, path, body)
        c.sendall(b"HTTP/1.1 " + status + b"\\r\\ncontent-type: application/json\\r\\ncontent-length: " + str(len(out)).encode() + b"\\r\\n\\r\\n" + out)
    return buf
while True:
    ready, _, _ = select.select([s, *pending], [], [])
    for c in ready:
        if c is s:
            pending[s.accept()[0]] = b""
            continue
        try:
            chunk = c.recv(65536)
            if chunk:
                pending[c] = answer(c, pending[c] + chunk)
                continue
        except (OSError, ValueError):
            pass
        del pending[c]
        c.close()
`;

const TRAIN_PY = `import os, pathlib
(pathlib.Path(os.environ["MLP_MODEL_DIR"]) / "model.txt").write_text(os.environ["MLP_GROUP"])
`;

export function groupNames(groups: number): string[] {
  return Array.from({ length: groups }, (_, i) => `g${i + 1}`);
}

export function pipelineName(i: number): string {
  return `p${String(i + 1).padStart(4, '0')}`;
}

/** The repo: pipelines p0001..pNNNN, each with the groups g1..gG, a train step and the tiny server (no shell needed), per group or multi-model. */
export function fleetRepo(opts: {
  pipelines: number;
  groups: number;
  /** Appended to each pipeline.yaml (indented under `pipeline:`). */
  pipelineExtra?: string;
  /** Appended to mlp.yaml. */
  repoExtra?: string;
  /** Each server sleeps this long before it listens, as a real one loading its model does. */
  startDelaySeconds?: number;
  /** `train` takes this long. */
  trainSeconds?: number;
  /** serve.mode: one tiny server per live variant (default), or one per pipeline hosting all its models. */
  serveMode?: 'single-model' | 'multi-model';
}): string {
  const files: Record<string, string> = { 'mlp.yaml': `warehouses:\n  warehouse: sqlite:warehouse.db\n${opts.repoExtra ?? ''}` };
  const server = opts.serveMode === 'multi-model' ? TINY_MULTI_MODEL_SERVE_PY : TINY_SERVE_PY;
  const serve = opts.startDelaySeconds ? `import time\ntime.sleep(${opts.startDelaySeconds})\n${server}` : server;
  for (let i = 0; i < opts.pipelines; i++) {
    const name = pipelineName(i);
    files[`${name}/pipeline.yaml`] = `pipeline:
  name: ${name}
  groups:
    generate: true
    source: warehouse.groups
  steps:
    - name: train
      command: python3 -S train.py
  serve:
    mode: ${opts.serveMode ?? 'single-model'}
    command: python3 -S serve.py
    startup_timeout_seconds: 120
  deployment:
    integration_tests: false
${opts.pipelineExtra ?? ''}`;
    files[`${name}/train.py`] = opts.trainSeconds ? `import time\ntime.sleep(${opts.trainSeconds})\n${TRAIN_PY}` : TRAIN_PY;
    files[`${name}/serve.py`] = serve;
  }
  const repo = makeRepo(files);
  const db = new Database(join(repo, 'warehouse.db'));
  db.exec('CREATE TABLE groups (name TEXT)');
  const insert = db.prepare('INSERT INTO groups VALUES (?)');
  for (const g of groupNames(opts.groups)) insert.run(g);
  db.close();
  return repo;
}

/**
 * Writes into the data dir's store that v1 of each (pipeline, group) listed is live as the current
 * version, with its model in the artifact store: what a daemon finds after a restart of a deployed fleet.
 */
export function seedLiveVariants(dataDir: string, live: readonly { pipeline: string; group: string }[]): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const store = openStore(dataDir);
  try {
    store.transaction(() => {
      for (const { pipeline, group } of live) {
        const { version } = store.modelVersions.create({
          pipeline,
          group,
          artifactUri: (v) => {
            const dir = artifactDir(dataDir, pipeline, group, v);
            mkdirSync(dir, { recursive: true });
            writeFileSync(join(dir, 'model.txt'), group);
            return dir;
          },
        });
        store.variants.create({ pipeline, group, version, role: 'current', weight: 100, backend: 'local' });
      }
    });
  } finally {
    store.close();
  }
}
