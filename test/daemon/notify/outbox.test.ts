/**
 * The outbox is written in the transaction that saves the rollout's transition: real store and state
 * machine, the in-memory serving platform. A blocked rollout queues one event per target that listens
 * to it; a transition the database refuses queues nothing until it is stored, then exactly once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NotifyTargetConfig } from '../../../shared/config/notify.js';
import { createLogger } from '../../../daemon/log.js';
import { createNotificationOutbox } from '../../../daemon/notify/outbox.js';
import { createRolloutController } from '../../../daemon/rollout/controller.js';
import { systemClock } from '../../../daemon/scheduler/clock.js';
import type { GateOutcome, RolloutPolicy } from '../../../daemon/rollout/machine.js';
import { createStorageHealth } from '../../../daemon/storage-health.js';
import { freshStore, refuseWrites, withVersions } from '../store/helpers.js';
import { createFakePlatform } from '../rollout/fake-platform.js';

const POLICY: RolloutPolicy = {
  strategy: 'gradual',
  initialTraffic: 0,
  stepPercent: 10,
  stepIntervalMs: 600_000,
  errorRateAbove: 0.05,
  minRequests: 5,
  latencyP99AboveMs: null,
};

const until = async <T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

function setup(targets: NotifyTargetConfig[]) {
  const store = freshStore();
  withVersions(store, 'p', 'g', 2);
  store.variants.create({ pipeline: 'p', group: 'g', version: 1, role: 'current', weight: 100, backend: 'local' });
  const platform = createFakePlatform();
  platform.serving('p', 'g', 1);
  const log = createLogger({ write: () => undefined });
  const storage = createStorageHealth({ log, file: store.file, retryEveryMs: 50 });
  let release: (o: GateOutcome) => void = () => undefined;
  const controller = createRolloutController({
    store,
    clock: systemClock,
    storage,
    log,
    platform,
    gates: {
      run: (gate) =>
        gate === 'replay'
          ? new Promise<GateOutcome>((resolve) => (release = resolve))
          : Promise.resolve({ passed: true, skipped: true, summary: 'nothing to check' }),
    },
    policyFor: () => POLICY,
    onChanged: () => undefined,
    outbox: createNotificationOutbox({ store, targetsFor: () => targets, onQueued: () => undefined }),
  });
  return { store, controller, release: (o: GateOutcome) => release(o) };
}

const BLOCK: GateOutcome = { passed: false, summary: '3 of 50 requests that worked on v1 fail on v2', observed: 3, threshold: 0 };

describe('the notification outbox', () => {
  it('queues one blocked event per listening target, with the decision that blocked it', async () => {
    const t = setup([
      { url: 'https://a.example.com/x', on: ['blocked', 'rolled_back'] },
      { url: 'https://b.example.com/y', on: ['promoted'] },
    ]);
    try {
      const { id } = await t.controller.start('p', null, [{ group: 'g', version: 2 }]);
      await until(() => (t.store.rollouts.get(id)!.phase === 'replaying' ? true : undefined), 'replay to start');
      t.release(BLOCK);
      await until(() => (t.store.rollouts.get(id)!.phase === 'blocked' ? true : undefined), 'the block');
      const rows = t.store.notifications.recent('p', 10);
      assert.deepEqual(
        rows.map((n) => [n.event, n.target, n.status]),
        [['blocked', 'https://a.example.com/x', 'pending']],
      );
      const payload = rows[0]!.payload as { decision: { rule: string; verdict: string }; reason: string; rollout: number };
      assert.deepEqual([payload.decision.rule, payload.decision.verdict, payload.rollout], ['replay', 'block', id]);
      assert.equal(payload.reason, BLOCK.summary);
    } finally {
      await t.controller.close();
    }
  });

  it('queues nothing while the database refuses the transition, and the event once when it is stored', async () => {
    const t = setup([{ url: 'https://a.example.com/x', on: ['blocked'] }]);
    try {
      const { id } = await t.controller.start('p', null, [{ group: 'g', version: 2 }]);
      await until(() => (t.store.rollouts.get(id)!.phase === 'replaying' ? true : undefined), 'replay to start');
      refuseWrites(t.store, true);
      t.release(BLOCK);
      await new Promise((r) => setTimeout(r, 200)); // the step is retried, and refused, meanwhile
      assert.equal(t.store.rollouts.get(id)!.phase, 'replaying');
      assert.equal(t.store.notifications.recent('p', 10).length, 0);
      refuseWrites(t.store, false);
      await until(() => (t.store.rollouts.get(id)!.phase === 'blocked' ? true : undefined), 'the block once stored');
      await new Promise((r) => setTimeout(r, 200));
      assert.deepEqual(
        t.store.notifications.recent('p', 10).map((n) => n.event),
        ['blocked'],
      );
    } finally {
      await t.controller.close();
    }
  });
});
