import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { createLogger } from '../../../daemon/log.js';
import { createRegistry } from '../../../daemon/repo/registry.js';
import type { CronDriver } from '../../../daemon/scheduler/clock.js';
import { startScheduling } from '../../../daemon/scheduler/wiring.js';
import { makeRepo } from '../../helpers/repo.js';
import { freshStore } from '../store/helpers.js';

const pipeline = (name: string, extra = '') =>
  `pipeline:\n  name: ${name}\n  schedule: "0 2 * * 1"\n  timezone: UTC\n${extra}  steps:\n    - name: train\n      command: python3 train.py\n`;

describe('startScheduling', () => {
  const repo = makeRepo({
    'mlp.yaml': '',
    'nightly/pipeline.yaml': pipeline('nightly'),
    'exported/pipeline.yaml': pipeline('exported', '  orchestrator: airflow\n'),
  });
  after(() => rmSync(repo, { recursive: true, force: true }));

  it('schedules the pipelines mlpd orchestrates, and leaves the ones exported to Airflow to their DAG', () => {
    const store = freshStore();
    const log = createLogger({ level: 'error', write: () => {} });
    const registry = createRegistry({ root: repo, store, log });
    registry.reload();
    assert.deepEqual(
      registry
        .list()
        .map((p) => p.name)
        .sort(),
      ['exported', 'nightly'],
    );
    const scheduled: string[] = [];
    const cron: CronDriver = {
      schedule(expression, _zone, _onTick) {
        scheduled.push(expression);
        return { stop: () => {} };
      },
    };
    const scheduling = startScheduling({ store, log, registry, onEnqueued: () => {}, cron });
    try {
      assert.deepEqual(scheduled, ['0 2 * * 1']); // nightly's job only
    } finally {
      scheduling.stop();
    }
  });
});
