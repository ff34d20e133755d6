/** What clients read: tokens, one pipeline's view, its log lines, and the answer to a name not in force. */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { MlpError } from '../../../shared/errors.js';
import { createApiReads } from '../../../daemon/api/reads.js';
import { createLogger } from '../../../daemon/log.js';
import { createLogWriter } from '../../../daemon/log-writer.js';
import { createRegistry } from '../../../daemon/repo/registry.js';
import { createGroupDirectory } from '../../../daemon/warehouse/directory.js';
import { makeRepo } from '../../helpers/repo.js';
import { freshStore } from '../store/helpers.js';

const pipeline = (name: string) => `pipeline:\n  name: ${name}\n  steps:\n    - name: train\n      command: python3 train.py\n`;

describe('API reads', () => {
  const repo = makeRepo({ 'mlp.yaml': '', 'forecast/pipeline.yaml': pipeline('forecast'), 'churn/pipeline.yaml': pipeline('churn') });
  after(() => rmSync(repo, { recursive: true, force: true }));

  function setUp() {
    const store = freshStore();
    const registry = createRegistry({ root: repo, store, log: createLogger({ write: () => undefined }) });
    registry.reload();
    const logs = createLogWriter(store);
    const reads = createApiReads({ sources: { registry, groups: createGroupDirectory(), store, timeScale: 1 }, logs, now: () => 1_000 });
    return { store, logs, reads };
  }

  const notFound = (message: RegExp) => (err: unknown) => err instanceof MlpError && err.code === 'not_found' && message.test(err.message);

  it('tails the lines still waiting in the write batch, newest last', () => {
    const { logs, reads } = setUp();
    for (let i = 1; i <= 3; i++) logs.write({ at: i, pipeline: 'forecast', stream: 'daemon', line: `line ${i}` });
    assert.deepEqual(
      reads.tail('forecast', { limit: 2 }).map((l) => l.line),
      ['line 2', 'line 3'],
    );
    assert.deepEqual(reads.tail('churn', { limit: 10 }), [], 'a pipeline in force without lines has an empty tail');
  });

  it('tails a removed pipeline while its lines are kept, and refuses a name that never had any, naming those in force', () => {
    const { logs, reads } = setUp();
    logs.write({ at: 1, pipeline: 'retired', stream: 'daemon', line: 'last words' });
    assert.deepEqual(
      reads.tail('retired', { limit: 10 }).map((l) => l.line),
      ['last words'],
    );
    assert.throws(() => reads.tail('forcast', { limit: 10 }), notFound(/^no pipeline named 'forcast' \(known: churn, forecast\)$/));
  });

  it('gives the full view of a pipeline in force, and not_found for another', () => {
    const { reads } = setUp();
    assert.equal(reads.detail('forecast').name, 'forecast');
    assert.throws(() => reads.detail('retired'), notFound(/^no pipeline named 'retired' in force$/));
    assert.deepEqual(
      reads.snapshot().pipelines.map((p) => p.name),
      ['churn', 'forecast'],
    );
  });

  it('knows a token by its secret until it is revoked', () => {
    const { store, reads } = setUp();
    const { secret } = store.tokens.create('ci', 'viewer');
    const session = reads.authenticate(secret);
    assert.deepEqual(session, { token: 'ci', role: 'viewer' });
    assert.equal(reads.authenticate(`${secret}x`), null);
    assert.equal(reads.sessionValid(session!), true);
    store.tokens.revoke('ci');
    assert.equal(reads.sessionValid(session!), false);
  });
});
