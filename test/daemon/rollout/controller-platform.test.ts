/**
 * The rollout controller against a serving platform it does not know: the in-memory one (fake-platform.ts).
 * Real store and state machine, fake gates. What a platform does — start a candidate, move weights, promote,
 * retire, lose a candidate and bring it back, fail a call — must turn into the same phases and decisions
 * whichever platform runs the pipeline.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../daemon/log.js';
import { MlpError } from '../../../shared/errors.js';
import type { ServingPlatform } from '../../../daemon/platform/platform.js';
import { PlatformFailure } from '../../../daemon/platform/platform.js';
import { createRolloutController, type RolloutController } from '../../../daemon/rollout/controller.js';
import { systemClock } from '../../../daemon/scheduler/clock.js';
import type { Gate, RolloutPolicy } from '../../../daemon/rollout/machine.js';
import { createStorageHealth } from '../../../daemon/storage-health.js';
import type { Rollout } from '../../../daemon/rollout/rollout.js';
import { eventually } from '../../helpers/daemon.js';
import { freshStore, withVersions } from '../store/helpers.js';
import { createFakePlatform } from './fake-platform.js';

const POLICY: RolloutPolicy = {
  strategy: 'gradual',
  initialTraffic: 0,
  stepPercent: 50,
  stepIntervalMs: 300,
  errorRateAbove: 0.05,
  minRequests: 5,
  latencyP99AboveMs: null,
};
const SLOW = { ...POLICY, stepIntervalMs: 600_000 };

/** Pipeline `p`, group `g`: v1 serves at 100%, v2 was just trained. */
function setUp(policy: RolloutPolicy) {
  const store = freshStore();
  withVersions(store, 'p', 'g', 2);
  store.variants.create({ pipeline: 'p', group: 'g', version: 1, role: 'current', weight: 100, backend: 'local' });
  const fake = createFakePlatform();
  fake.serving('p', 'g', 1);
  const log = createLogger({ write: () => undefined });
  const storage = createStorageHealth({ log, file: store.file });
  const gatesRun: Gate[] = [];
  const controllers: RolloutController[] = [];
  /** A controller, as a daemon start makes one; several in turn are a daemon restarted. */
  const controller = (platform: ServingPlatform = fake) => {
    const c = createRolloutController({
      store,
      clock: systemClock,
      storage,
      log,
      platform,
      gates: { run: async (gate) => (gatesRun.push(gate), { passed: true, summary: `${gate} passed` }) },
      policyFor: () => policy,
      onChanged: () => undefined,
      watchEveryMs: 20,
      observeEveryMs: 20,
    });
    controllers.push(c);
    return c;
  };
  const rollout = (id: number) => store.rollouts.get(id)!;
  const inPhase = (id: number, phase: Rollout['phase']) =>
    eventually(() => (rollout(id).phase === phase ? rollout(id) : undefined), 10_000, `phase ${phase} (now ${rollout(id).phase})`);
  const decisions = (id: number) => store.decisions.list(id);
  const close = async () => {
    for (const c of controllers) await c.close();
    storage.close();
  };
  return { store, fake, gatesRun, controller, rollout, inPhase, decisions, close };
}

describe('the rollout controller on a serving platform', () => {
  it('takes a good candidate through the gates and the shift to promoted, moving the platform step by step', async () => {
    const t = setUp(POLICY);
    try {
      const { id } = await t.controller().start('p', null, [{ group: 'g', version: 2 }]);
      await t.inPhase(id, 'promoted');
      assert.deepEqual(t.fake.asked, ['start g v2', 'weight 50', 'promote']);
      assert.equal(t.fake.served('p', 'g'), 'v2 100');
      assert.deepEqual(t.gatesRun, ['data_checks', 'integration_tests', 'replay']);
      assert.deepEqual(
        t.decisions(id).map((d) => `${d.rule} ${d.verdict}`),
        ['candidates_live advance', 'data_checks advance', 'integration_tests advance', 'replay advance', 'step advance', 'step promote'],
      );
    } finally {
      await t.close();
    }
  });

  it('says in the candidates_live decision what the platform did besides starting the candidate (a group moved there)', async () => {
    const t = setUp(POLICY);
    try {
      t.fake.startNote('moving g from local to sagemaker: v1 brought up on endpoint mlp-p-g-12345678');
      const { id } = await t.controller().start('p', null, [{ group: 'g', version: 2 }]);
      await t.inPhase(id, 'promoted');
      const live = t.decisions(id).find((d) => d.rule === 'candidates_live')!;
      assert.match(
        live.reason,
        /answers \/ping at 0% traffic; moving g from local to sagemaker: v1 brought up on endpoint mlp-p-g-12345678$/,
      );
    } finally {
      await t.close();
    }
  });

  it('rolls back from the errors the platform counted on the candidate, naming its window', async () => {
    const t = setUp(SLOW);
    try {
      const { id } = await t.controller().start('p', null, [{ group: 'g', version: 2 }]);
      await t.inPhase(id, 'shifting');
      assert.equal(t.fake.served('p', 'g'), 'v1 50, v2 50');
      t.fake.serve('p', 'g', 'v2', 20, 3);
      const done = await t.inPhase(id, 'rolled_back');
      assert.equal(done.reason, 'error rate 15% on g (3 of the 20 requests of the since start window) is above 5%: rolling back');
      const rollback = t.decisions(id).find((d) => d.verdict === 'rollback')!;
      assert.equal(rollback.rule, 'error_rate');
      assert.deepEqual(rollback.sample, { group: 'g', window: 'since start', requests: 20, errors: 3 });
      assert.deepEqual(t.fake.asked, ['start g v2', 'weight 50', 'retire']);
      assert.equal(t.fake.served('p', 'g'), 'v1 100');
    } finally {
      await t.close();
    }
  });

  it("fails the rollout with the platform's error when it cannot set a weight, and takes the candidate out", async () => {
    const t = setUp(SLOW);
    try {
      t.fake.fail('setCandidateWeight', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
      const { id } = await t.controller().start('p', null, [{ group: 'g', version: 2 }]);
      const done = await t.inPhase(id, 'failed');
      assert.equal(done.reason, 'set_weight failed: ThrottlingException: Rate exceeded');
      const last = t.decisions(id).at(-1)!;
      assert.deepEqual(
        [last.rule, last.verdict, last.reason],
        ['machinery', 'fail', 'set_weight failed: ThrottlingException: Rate exceeded'],
      );
      assert.deepEqual(t.fake.asked, ['start g v2', 'weight 50', 'retire']);
      assert.equal(t.fake.served('p', 'g'), 'v1 100');
    } finally {
      await t.close();
    }
  });

  it("blocks at deploying with the platform's reason when the candidate does not start", async () => {
    const t = setUp(SLOW);
    try {
      t.fake.fail('startCandidate', new MlpError('check_failed', 'v2 of p/g did not start: exited with code 1'));
      const { id } = await t.controller().start('p', null, [{ group: 'g', version: 2 }]);
      const done = await t.inPhase(id, 'blocked');
      assert.equal(done.reason, 'v2 of p/g did not start: exited with code 1');
      assert.deepEqual(
        t.decisions(id).map((d) => `${d.phase} ${d.rule} ${d.verdict}`),
        ['deploying candidates_live block'],
      );
      assert.deepEqual(t.gatesRun, []);
      assert.deepEqual(t.fake.asked, ['start g v2', 'retire']);
    } finally {
      await t.close();
    }
  });

  it('after a restart, holds the shift until the platform has the candidate back, then finishes it', async () => {
    const t = setUp({ ...POLICY, stepIntervalMs: 1_500 });
    try {
      const before = t.controller();
      const { id } = await before.start('p', null, [{ group: 'g', version: 2 }]);
      await t.inPhase(id, 'shifting');
      await before.close();
      t.fake.asked.length = 0;
      t.fake.slowStarts(); // the restored servers take their time
      t.controller().recover();
      const hold = await eventually(() => t.decisions(id).find((d) => d.rule === 'restart'), 10_000, 'the restart decision');
      assert.equal(hold.verdict, 'hold');
      await new Promise((r) => setTimeout(r, 2_000)); // longer than the step: its clock stands still meanwhile
      assert.equal(t.rollout(id).phase, 'shifting');
      assert.equal(t.rollout(id).candidateWeight, 50);
      assert.deepEqual(t.fake.asked, ['weight 50', 'start g v2']);

      t.fake.finishStarts();
      await t.inPhase(id, 'promoted');
      assert.deepEqual(
        t
          .decisions(id)
          .slice(-3)
          .map((d) => `${d.rule} ${d.verdict}`),
        ['restart hold', 'candidates_live resume', 'step promote'],
      );
      assert.deepEqual(t.fake.asked, ['weight 50', 'start g v2', 'promote']);
      assert.equal(t.fake.served('p', 'g'), 'v2 100');
    } finally {
      await t.close();
    }
  });

  it("stops the shift's clock while the platform says a candidate is down, and goes on once it is back", async () => {
    const t = setUp(SLOW);
    try {
      const { id } = await t.controller().start('p', null, [{ group: 'g', version: 2 }]);
      await t.inPhase(id, 'shifting');
      t.fake.down('v2 of p/g is not live (starting: exited with code 1)');
      const hold = await eventually(
        () => t.decisions(id).find((d) => d.rule === 'candidates_live' && d.verdict === 'hold'),
        10_000,
        'the hold',
      );
      assert.match(hold.reason, /^v2 of p\/g is not live \(starting: exited with code 1\): the step at 50% stands still/);
      await eventually(() => (t.fake.asked.includes('back') ? true : undefined), 10_000, 'the controller to wait for the candidate');

      t.fake.down(null);
      const resumed = await eventually(() => t.decisions(id).find((d) => d.verdict === 'resume'), 10_000, 'the resume');
      assert.match(resumed.reason, /^v2 of g answers \/ping again: the step at 50% goes on/);
      assert.equal(t.rollout(id).phase, 'shifting');
      assert.equal(t.fake.served('p', 'g'), 'v1 50, v2 50');
    } finally {
      await t.close();
    }
  });

  it('rolls back when the platform gives up on a candidate that went down', async () => {
    const t = setUp(SLOW);
    try {
      const { id } = await t.controller().start('p', null, [{ group: 'g', version: 2 }]);
      await t.inPhase(id, 'shifting');
      t.fake.fail('candidatesBack', new MlpError('check_failed', 'v2 of p/g did not come back: failed 5 starts in a row'));
      t.fake.down('v2 of p/g is not live (failed)');
      const done = await t.inPhase(id, 'rolled_back');
      assert.equal(done.reason, 'v2 of p/g did not come back: failed 5 starts in a row');
      assert.deepEqual(t.fake.asked, ['start g v2', 'weight 50', 'back', 'retire']);
      assert.equal(t.fake.served('p', 'g'), 'v1 100');
    } finally {
      await t.close();
    }
  });

  it('fails (not blocks) a rollout whose serving platform refused, with the error, and retires the candidate', async () => {
    const t = setUp(SLOW);
    try {
      t.fake.fail(
        'startCandidate',
        new PlatformFailure(
          'AWS denied UpdateEndpoint: User is not authorized to perform: sagemaker:UpdateEndpoint; check the role and credentials',
        ),
      );
      const { id } = await t.controller().start('p', null, [{ group: 'g', version: 2 }]);
      const done = await t.inPhase(id, 'failed');
      assert.match(done.reason!, /AWS denied UpdateEndpoint/);
      const decision = t.store.decisions.list(id).find((d) => d.verdict === 'fail')!;
      assert.equal(decision.rule, 'machinery');
      assert.match(decision.reason, /not authorized to perform: sagemaker:UpdateEndpoint/);
      assert.equal(t.fake.served('p', 'g'), 'v1 100');
    } finally {
      await t.close();
    }
  });
});
