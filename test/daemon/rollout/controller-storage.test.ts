/**
 * A rollback decided while the database refuses writes (issue 9, item 2): the decision is not lost.
 * The candidates get no traffic at once (in memory), the rollback is stored and carried out as soon
 * as writes succeed again, and the refusal is said once. Real store and state machine; the serving
 * platform is the in-memory one, which records what it is asked to do.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../daemon/log.js';
import { createRolloutController } from '../../../daemon/rollout/controller.js';
import { systemClock } from '../../../daemon/scheduler/clock.js';
import type { RolloutPolicy } from '../../../daemon/rollout/machine.js';
import { createStorageHealth } from '../../../daemon/storage-health.js';
import { freshStore, refuseWrites, withVersions } from '../store/helpers.js';
import { createFakePlatform } from './fake-platform.js';

const until = async <T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

const POLICY: RolloutPolicy = {
  strategy: 'gradual',
  initialTraffic: 0,
  stepPercent: 10,
  stepIntervalMs: 600_000,
  errorRateAbove: 0.05,
  minRequests: 5,
  latencyP99AboveMs: null,
};

describe('a rollback while the database refuses writes', () => {
  it('takes the candidates out of traffic at once and stores the rollback once it can', async () => {
    const store = freshStore();
    withVersions(store, 'p', 'g', 2);
    store.variants.create({ pipeline: 'p', group: 'g', version: 1, role: 'current', weight: 100, backend: 'local' });
    const platform = createFakePlatform();
    platform.serving('p', 'g', 1);
    const { asked } = platform;
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    const storage = createStorageHealth({ log, file: store.file, retryEveryMs: 100 });
    const controller = createRolloutController({
      store,
      clock: systemClock,
      storage,
      log,
      platform,
      gates: { run: async () => ({ passed: true, skipped: true, summary: 'nothing to check' }) },
      policyFor: () => POLICY,
      onChanged: () => undefined,
      watchEveryMs: 20,
    });
    try {
      const { id } = await controller.start('p', null, [{ group: 'g', version: 2 }]);
      await until(() => (store.rollouts.get(id)!.phase === 'shifting' ? true : undefined), 'the shift to start');
      assert.deepEqual(asked, ['start g v2', 'weight 10']);

      refuseWrites(store, true);
      platform.serve('p', 'g', 'v2', 20, 20);
      await until(() => (asked.includes('hold') ? true : undefined), 'the candidates to be taken out of traffic');
      await new Promise((r) => setTimeout(r, 300)); // retries keep failing meanwhile
      assert.equal(store.rollouts.get(id)!.phase, 'shifting', 'nothing could be stored');
      assert.ok(!asked.includes('retire'), 'the rollback waits for its record');
      assert.equal(lines.filter((l) => l.includes('storage: cannot write to')).length, 1, lines.join('\n'));

      refuseWrites(store, false);
      const done = await until(() => {
        const r = store.rollouts.get(id)!;
        return r.phase === 'rolled_back' ? r : undefined;
      }, 'the rollback to be stored and carried out');
      assert.match(done.reason ?? '', /error rate 100(\.0)?% on g .* rolling back/);
      assert.ok(asked.includes('retire'));
      assert.deepEqual(store.decisions.list(id).filter((d) => d.verdict === 'rollback').length, 1);
      await until(() => (storage.problem() === null ? true : undefined), 'recovery to be said');
    } finally {
      refuseWrites(store, false);
      await controller.close();
      storage.close();
    }
  });
});
