/** With --pull, a merged change runs the pipelines whose folders it touched, and no others. */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../../daemon/log.js';
import { createRegistry } from '../../../daemon/repo/registry.js';
import { runsOnMerge } from '../../../daemon/runs/merged-changes.js';
import { makeRepo } from '../../helpers/repo.js';
import { freshStore } from '../store/helpers.js';

const pipeline = (name: string, extra = '') =>
  `pipeline:\n  name: ${name}\n${extra}  steps:\n    - name: train\n      command: python3 train.py\n`;
const COMMIT = '3f9c2a7be01d44c1a5e0f00ddc0ffee123456789';

describe('runs on a merged change', () => {
  const repo = makeRepo({
    'mlp.yaml': '',
    'forecast/pipeline.yaml': pipeline('forecast'),
    'forecast/train.py': '',
    'forecast-eu/pipeline.yaml': pipeline('forecast-eu'),
    'churn/pipeline.yaml': pipeline('churn'),
    'exported/pipeline.yaml': pipeline('exported', '  orchestrator: airflow\n'),
    'broken/pipeline.yaml': pipeline('broken'),
  });
  after(() => rmSync(repo, { recursive: true, force: true }));

  function setUp(reload?: () => Promise<unknown>) {
    const store = freshStore();
    const lines: string[] = [];
    const log = createLogger({ write: (line) => lines.push(line) });
    const registry = createRegistry({ root: repo, store, log });
    registry.reload();
    let pumps = 0;
    const onPulled = runsOnMerge({
      root: repo,
      store,
      log,
      reload: reload ?? (async () => registry.reload()),
      pipelines: () => registry.list(),
      pump: () => void pumps++,
    });
    const pulled = async (changedFiles: string[]) => {
      onPulled({ from: '0'.repeat(40), to: COMMIT, changedFiles });
      await new Promise((r) => setTimeout(r, 10));
    };
    return { store, lines, registry, pulled, pumps: () => pumps };
  }

  it('queues one run of each pipeline whose config or code the merge touched, with the commit, then starts runs', async () => {
    const { store, lines, pulled, pumps } = setUp();
    await pulled(['forecast/train.py', 'forecast/pipeline.yaml', 'churn/pipeline.yaml', 'README.md']);
    const queued = ['forecast', 'forecast-eu', 'churn'].flatMap((name) => store.runs.active(name));
    assert.deepEqual(
      queued.map((r) => [r.pipeline, r.trigger, r.reason, r.gitCommit]),
      [
        ['forecast', 'change', 'merged 3f9c2a7b', COMMIT],
        ['churn', 'change', 'merged 3f9c2a7b', COMMIT],
      ],
    );
    assert.equal(pumps(), 1);
    assert.ok(lines.some((l) => l.includes(`info  run forecast: ${queued[0]!.id} queued: a merged change touched the pipeline`)));
  });

  it('leaves alone a pipeline Airflow trains and one whose latest edit is invalid', async () => {
    const { store, registry, pulled } = setUp();
    writeFileSync(join(repo, 'broken/pipeline.yaml'), 'pipeline:\n  name: broken\n  stepz: []\n');
    await pulled(['exported/pipeline.yaml', 'broken/pipeline.yaml']);
    assert.ok(registry.get('broken')!.problems.length > 0, 'the edit is invalid');
    assert.deepEqual(store.runs.active('exported'), []);
    assert.deepEqual(store.runs.active('broken'), []);
  });

  it('says which merge it could not act on when the repo cannot be read again', async () => {
    const { store, lines, pulled, pumps } = setUp(async () => {
      throw new Error('EACCES: permission denied');
    });
    await pulled(['forecast/train.py']);
    assert.deepEqual(store.runs.active('forecast'), []);
    assert.equal(pumps(), 0);
    assert.ok(
      lines.some((l) => /error pull: cannot queue runs for 3f9c2a7b: .*EACCES: permission denied$/.test(l)),
      lines.join('\n'),
    );
  });
});
