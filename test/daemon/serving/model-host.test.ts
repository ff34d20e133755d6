/** One multi-model server hosting several models, with a real Python server speaking SageMaker's multi-model contract. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createModelHost } from '../../../daemon/serving/servers/model-host.js';
import { createLocalServerBackend } from '../../../daemon/serving/servers/servers.js';
import type { StateChange } from '../../../daemon/serving/servers/supervisor.js';
import { eventually } from '../../helpers/daemon.js';
import { MULTI_MODEL_SERVE_PY } from '../../helpers/multi-model.js';
import { isAlive, pidsWithEnv } from '../../helpers/processes.js';

describe('a multi-model server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-model-host-'));
  writeFileSync(join(dir, 'serve.py'), MULTI_MODEL_SERVE_PY);
  const model = (group: string, version: number) => {
    const folder = join(dir, 'models', group, `v${version}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, 'model.json'), JSON.stringify({ group, behaviour: {} }));
    return { name: `${group}--v${version}`, url: folder };
  };
  const serverId = `test-${randomUUID()}`;
  let emptied = 0;
  const host = createModelHost({
    spec: {
      pipeline: 'shop',
      group: '',
      variant: '',
      multiModel: true,
      pipelineDir: dir,
      command: 'python3 serve.py',
      modelDir: join(dir, 'models'),
      serverId,
    },
    backend: createLocalServerBackend(),
    startupTimeoutMs: 30_000,
    loadTimeoutMs: 5_000,
    backoffMs: 100,
    onLine: () => undefined,
    onEmpty: () => emptied++,
  });
  after(async () => {
    await host.close(1_000);
    for (const pid of pidsWithEnv({ MLP_SERVER_ID: serverId }).filter(isAlive)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const changes = new Map<string, StateChange[]>();
  const add = (m: { name: string; url: string }) => {
    changes.set(m.name, []);
    return host.add(m, (c) => changes.get(m.name)!.push(c));
  };
  const call = async (port: number, method: string, path: string, body?: object) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, {
      method,
      ...(body ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    return { status: res.status, json: (await res.json()) as any };
  };
  const loaded = async (port: number) =>
    ((await call(port, 'GET', '/models')).json.models as { modelName: string }[]).map((m) => m.modelName);

  const london = model('london', 1);
  const paris = model('paris', 1);
  const londonV2 = model('london', 2);
  let handles: ReturnType<typeof add>[] = [];

  it('hosts every model it is given on one server, each live once loaded, each invoked by name', async () => {
    handles = [add(london), add(paris)];
    await Promise.all(handles.map((h) => h.firstLive));
    assert.equal(handles[0]!.port, handles[1]!.port, 'one server');
    assert.equal(pidsWithEnv({ MLP_SERVER_ID: serverId }).length, 1);
    const port = handles[0]!.port!;
    assert.deepEqual(await loaded(port), ['london--v1', 'paris--v1']);
    assert.deepEqual((await call(port, 'POST', '/models/paris--v1/invoke', { x: 2 })).json, { y: 4, model: 'paris--v1', group: 'paris' });
    // A model added to a live server is loaded at once.
    const v2 = add(londonV2);
    await v2.firstLive;
    assert.deepEqual(await loaded(port), ['london--v1', 'london--v2', 'paris--v1']);
    handles.push(v2);
    assert.equal(host.state, 'live');
  });

  it('fails a model the server cannot load, with its answer, and leaves the others serving', async () => {
    const broken = add({ name: 'berlin--v1', url: join(dir, 'models', 'nowhere') });
    await assert.rejects(broken.firstLive, /did not load model berlin--v1 \(HTTP 404: .*cannot load berlin--v1 from/);
    assert.equal(broken.state, 'failed');
    assert.ok(handles.every((h) => h.state === 'live'));
    await broken.stop();
    assert.equal(broken.state, 'stopped');
  });

  it('killed with SIGKILL, comes back on a new port with every model loaded again; its models say starting meanwhile', async () => {
    const before = handles[0]!.port!;
    const [pid] = pidsWithEnv({ MLP_SERVER_ID: serverId });
    process.kill(pid!, 'SIGKILL');
    await eventually(() => (handles.every((h) => h.state === 'starting') ? true : undefined), 5_000, 'every model to be starting');
    await Promise.all(handles.map((h) => h.whenLive()));
    const port = handles[0]!.port!;
    assert.notEqual(port, before);
    assert.deepEqual(await loaded(port), ['london--v1', 'london--v2', 'paris--v1']);
    const crash = changes.get('paris--v1')!.find((c) => c.state === 'starting' && c.error);
    assert.match(crash!.error!, /the model server exited \(SIGKILL\)/);
    assert.equal(changes.get('paris--v1')!.at(-1)!.restarts, 1);
  });

  it('unloads a stopped model and stops the server with the last one', async () => {
    const port = handles[0]!.port!;
    await handles[0]!.stop();
    assert.deepEqual(await loaded(port), ['london--v2', 'paris--v1']);
    assert.equal((await call(port, 'POST', '/models/london--v1/invoke', { x: 1 })).status, 404);
    assert.equal(emptied, 0);
    await Promise.all(handles.slice(1).map((h) => h.stop()));
    assert.equal(emptied, 1);
    assert.deepEqual(pidsWithEnv({ MLP_SERVER_ID: serverId }).filter(isAlive), []);
  });
});
