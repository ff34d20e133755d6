/**
 * The rollout controller's concurrency and failure paths, fast: supersede, cancel, pause, recover and
 * retire, with the in-memory serving platform (fake-platform.ts), gates the test passes, fails or
 * throws by hand, and a clock the test moves (fake-clock.ts), so a ten-minute step takes no time and
 * a wait can be stopped at any minute. Real store and state machine.
 * The platform failing to start a candidate or to set a weight: controller-platform.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../../daemon/log.js';
import type { ServingPlatform } from '../../../daemon/platform/platform.js';
import { createRolloutController, type GateRunner, type RolloutController } from '../../../daemon/rollout/controller.js';
import type { Gate, GateOutcome, RolloutPolicy } from '../../../daemon/rollout/machine.js';
import type { Rollout } from '../../../daemon/rollout/rollout.js';
import { createStorageHealth } from '../../../daemon/storage-health.js';
import { eventually } from '../../helpers/daemon.js';
import { freshStore, withVersions } from '../store/helpers.js';
import { createFakeClock } from './fake-clock.js';
import { createFakePlatform } from './fake-platform.js';

const MIN = 60_000;
/** Two steps: 50%, then after ten minutes 100% (promoted). */
const POLICY: RolloutPolicy = {
  strategy: 'gradual',
  initialTraffic: 0,
  stepPercent: 50,
  stepIntervalMs: 10 * MIN,
  errorRateAbove: 0.05,
  minRequests: 5,
  latencyP99AboveMs: null,
};

/** A gate the test settles: it passes, fails or throws when told; `signal` says whether the controller stopped it. */
interface GateRun {
  gate: Gate;
  version: number;
  signal: AbortSignal;
  pass(): void;
  fail(summary: string): void;
  throws(error: Error): void;
}

function createFakeGates(): { runner: GateRunner; runs: GateRun[]; started(gate: Gate, nth?: number): Promise<GateRun> } {
  const runs: GateRun[] = [];
  const runner: GateRunner = {
    run: (gate, r, signal) =>
      new Promise<GateOutcome>((resolve, reject) => {
        runs.push({
          gate,
          version: r.groups[0]!.candidate,
          signal,
          pass: () => resolve({ passed: true, summary: `${gate} passed` }),
          fail: (summary) => resolve({ passed: false, summary }),
          throws: reject,
        });
      }),
  };
  const started = (gate: Gate, nth = 1) =>
    eventually(() => runs.filter((x) => x.gate === gate)[nth - 1], 10_000, `run ${nth} of the ${gate} gate`);
  return { runner, runs, started };
}

/** Pipeline `p`, group `g`: v1 serves at 100%, v2 (and v3) were trained. */
function setUp(versions = 2) {
  const store = freshStore();
  withVersions(store, 'p', 'g', versions);
  store.variants.create({ pipeline: 'p', group: 'g', version: 1, role: 'current', weight: 100, backend: 'local' });
  const fake = createFakePlatform();
  fake.serving('p', 'g', 1);
  const clock = createFakeClock();
  const gates = createFakeGates();
  const logged: string[] = [];
  const log = createLogger({ write: (line) => logged.push(line) });
  const storage = createStorageHealth({ log, file: store.file });
  const controllers: RolloutController[] = [];
  /** A controller, as a daemon start makes one; a second one on the same store is the daemon started again. */
  const controller = (platform: ServingPlatform = fake) => {
    const c = createRolloutController({
      store,
      storage,
      log,
      clock,
      platform,
      gates: gates.runner,
      policyFor: () => POLICY,
      onChanged: () => undefined,
      watchEveryMs: 20,
      observeEveryMs: 20,
    });
    controllers.push(c);
    return c;
  };
  const rollout = (id: number) => store.rollouts.get(id)!;
  const inPhase = (id: number, phase: Rollout['phase']) =>
    eventually(
      () => {
        const r = rollout(id);
        if (r.phase !== phase) throw new Error(`still ${r.phase}`); // the timeout says where it stopped
        return r;
      },
      10_000,
      `phase ${phase}`,
    );
  const decisions = (id: number) => store.decisions.list(id).map((d) => `${d.rule} ${d.verdict}`);
  /** Passes the three gates in turn: the rollout is shifting at 50% once this resolves. */
  const throughGates = async (id: number, nth = 1) => {
    for (const gate of ['data_checks', 'integration_tests', 'replay'] as const) (await gates.started(gate, nth)).pass();
    return inPhase(id, 'shifting');
  };
  const close = async () => {
    for (const c of controllers) await c.close();
    storage.close();
  };
  return { store, fake, clock, gates, logged, controller, rollout, inPhase, decisions, throughGates, close };
}

describe('the rollout controller', () => {
  it("fails the rollout with the platform's error when the promotion fails, and gives the current version all traffic back", async () => {
    const t = setUp();
    try {
      t.fake.fail('promoteCandidates', Object.assign(new Error('endpoint mlp-p-g is in status Failed'), { name: 'ValidationException' }));
      const { id } = await t.controller().start('p', null, [{ group: 'g', version: 2 }]);
      await t.throughGates(id);
      t.clock.advance(10 * MIN);
      const done = await t.inPhase(id, 'failed');
      assert.equal(done.reason, 'promote failed: ValidationException: endpoint mlp-p-g is in status Failed');
      assert.deepEqual(t.decisions(id).slice(-2), ['step promote', 'machinery fail']);
      assert.deepEqual(t.fake.asked, ['start g v2', 'weight 50', 'promote', 'retire']);
      assert.equal(t.fake.served('p', 'g'), 'v1 100');
    } finally {
      await t.close();
    }
  });

  it('blocks the rollout, saying why, when a gate throws instead of answering; no traffic moved', async () => {
    const t = setUp();
    try {
      const { id } = await t.controller().start('p', null, [{ group: 'g', version: 2 }]);
      (await t.gates.started('data_checks')).throws(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
      const done = await t.inPhase(id, 'blocked');
      assert.equal(done.reason, 'the data checks gate could not run: Error: connect ECONNREFUSED 127.0.0.1:5432');
      assert.deepEqual(t.decisions(id), ['candidates_live advance', 'data_checks block']);
      assert.deepEqual(t.fake.asked, ['start g v2', 'retire']);
      assert.equal(t.fake.served('p', 'g'), 'v1 100');
    } finally {
      await t.close();
    }
  });

  it('supersedes a rollout while its gate runs: the gate is stopped, the older candidate retired before the newer starts, and a late result changes nothing', async () => {
    const t = setUp(3);
    try {
      const c = t.controller();
      const older = await c.start('p', null, [{ group: 'g', version: 2 }]);
      const gate = await t.gates.started('data_checks');
      const newer = await c.start('p', null, [{ group: 'g', version: 3 }]);

      assert.ok(gate.signal.aborted, "the older rollout's gate was stopped");
      const old = t.rollout(older.id);
      assert.equal(old.phase, 'rolled_back');
      assert.equal(old.reason, 'superseded by a newer version: the older candidate is rolled back first');
      assert.deepEqual(t.fake.asked.slice(0, 3), ['start g v2', 'retire', 'start g v3']);

      gate.pass(); // the stopped gate answers after all
      const next = await t.gates.started('data_checks', 2);
      assert.equal(next.version, 3);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(t.rollout(older.id).phase, 'rolled_back');
      assert.deepEqual(t.decisions(older.id), ['candidates_live advance', 'superseded rollback']);
      assert.equal(t.rollout(newer.id).phase, 'checking_data');
    } finally {
      await t.close();
    }
  });

  it("a rollback during a step's wait cancels the wake-up: the step never comes, and the decision carries the clock's time", async () => {
    const t = setUp();
    try {
      const c = t.controller();
      const { id } = await c.start('p', null, [{ group: 'g', version: 2 }]);
      await t.throughGates(id);
      assert.deepEqual(t.clock.pending(), [t.clock.now() + 10 * MIN]);
      t.clock.advance(4 * MIN);
      const done = await c.command('p', 'rollback', 'ops');
      assert.equal(done.phase, 'rolling_back');
      await t.inPhase(id, 'rolled_back');
      assert.deepEqual(t.clock.pending(), [], 'no wake-up is left');

      t.clock.advance(60 * MIN);
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual(t.decisions(id).slice(-1), ['manual rollback']);
      assert.equal(t.store.decisions.list(id).at(-1)!.at, t.clock.now() - 60 * MIN);
      assert.deepEqual(t.fake.asked, ['start g v2', 'weight 50', 'retire']);
    } finally {
      await t.close();
    }
  });

  it("a pause during a step's wait freezes it: after an hour paused the step comes with the six minutes it had left", async () => {
    const t = setUp();
    try {
      const c = t.controller();
      const { id } = await c.start('p', null, [{ group: 'g', version: 2 }]);
      await t.throughGates(id);
      t.clock.advance(4 * MIN);
      await c.command('p', 'pause', 'ops');
      t.clock.advance(60 * MIN);
      await c.command('p', 'resume', 'ops');
      assert.deepEqual(t.clock.pending(), [t.clock.now() + 6 * MIN]);
      t.clock.advance(6 * MIN - 1);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(t.rollout(id).candidateWeight, 50);
      t.clock.advance(1);
      await t.inPhase(id, 'promoted');
      assert.deepEqual(t.fake.asked, ['start g v2', 'weight 50', 'promote']);
    } finally {
      await t.close();
    }
  });

  it('a pause stops a running gate, whose late result is ignored; resume runs the gate again from the start', async () => {
    const t = setUp();
    try {
      const c = t.controller();
      const { id } = await c.start('p', null, [{ group: 'g', version: 2 }]);
      const first = await t.gates.started('data_checks');
      await c.command('p', 'pause', 'ops');
      assert.ok(first.signal.aborted);
      first.fail('2 of 9 expectations failed'); // too late: it was stopped
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(t.rollout(id).phase, 'paused');

      await c.command('p', 'resume', 'ops');
      const again = await t.gates.started('data_checks', 2);
      assert.ok(!again.signal.aborted);
      again.pass();
      await t.inPhase(id, 'integration_testing');
      assert.deepEqual(t.decisions(id), ['candidates_live advance', 'manual hold', 'manual resume', 'data_checks advance']);
    } finally {
      await t.close();
    }
  });

  it("recovers after a crash mid-shift: the step's clock stands still until the candidate is back, then it has the time it had left", async () => {
    const t = setUp();
    try {
      const before = t.controller();
      const { id } = await before.start('p', null, [{ group: 'g', version: 2 }]);
      await t.throughGates(id);
      t.clock.advance(4 * MIN);
      await eventually(
        () => (t.rollout(id).state.watch?.observedAt === t.clock.now() ? true : undefined),
        10_000,
        'the watch to save what it observed',
      );
      await before.close(); // the daemon is gone
      t.clock.advance(30 * MIN);

      t.fake.asked.length = 0;
      t.fake.slowStarts(); // the restored server takes its time
      t.controller().recover();
      const hold = await eventually(() => t.store.decisions.list(id).find((d) => d.rule === 'restart'), 10_000, 'the restart decision');
      assert.deepEqual([hold.verdict, hold.observed], ['hold', { watchedMs: 4 * MIN }]);
      t.clock.advance(20 * MIN); // longer than the step: its clock stands still
      await new Promise((r) => setTimeout(r, 100));
      assert.deepEqual([t.rollout(id).phase, t.rollout(id).candidateWeight], ['shifting', 50]);
      assert.deepEqual(t.clock.pending(), []);

      t.fake.finishStarts();
      const back = await eventually(
        () => t.store.decisions.list(id).find((d) => d.verdict === 'resume'),
        10_000,
        'the candidate to be back',
      );
      assert.match(back.reason, /goes on with the 6 min it had left/);
      assert.deepEqual(t.clock.pending(), [t.clock.now() + 6 * MIN]);
      t.clock.advance(6 * MIN);
      await t.inPhase(id, 'promoted');
      assert.deepEqual(t.fake.asked, ['weight 50', 'start g v2', 'promote']);
      assert.deepEqual(t.decisions(id).slice(-3), ['restart hold', 'candidates_live resume', 'step promote']);
    } finally {
      await t.close();
    }
  });

  it('recovers after a crash mid-promotion: the promotion is carried out again, and decided once', async () => {
    const t = setUp();
    try {
      const hanging: ServingPlatform = {
        ...t.fake,
        promoteCandidates: () => (t.fake.asked.push('promote, never answered'), new Promise<void>(() => undefined)),
      };
      const before = t.controller(hanging);
      const { id } = await before.start('p', null, [{ group: 'g', version: 2 }]);
      await t.throughGates(id);
      t.clock.advance(10 * MIN);
      await eventually(() => (t.fake.asked.includes('promote, never answered') ? true : undefined), 10_000, 'the promotion to start');
      await before.close();
      assert.deepEqual([t.rollout(id).phase, t.rollout(id).candidateWeight], ['shifting', 100]);

      t.controller().recover();
      await t.inPhase(id, 'promoted');
      assert.deepEqual(t.fake.asked, ['start g v2', 'weight 50', 'promote, never answered', 'promote']);
      assert.equal(t.fake.served('p', 'g'), 'v2 100');
      assert.equal(t.decisions(id).filter((d) => d === 'step promote').length, 1);
    } finally {
      await t.close();
    }
  });

  it('keeps a rollback whose retire failed at 0% until the daemon starts again, then finishes it', async () => {
    const t = setUp();
    try {
      t.fake.fail('retireCandidates', new Error('docker: container mlp-p-g-v2 is not running'));
      const c = t.controller();
      const { id } = await c.start('p', null, [{ group: 'g', version: 2 }]);
      await t.throughGates(id);
      await c.command('p', 'rollback', 'ops');
      await eventually(
        () =>
          t.logged.some((l) => l.includes('retire_candidates failed: Error: docker: container mlp-p-g-v2 is not running'))
            ? true
            : undefined,
        10_000,
        'the failure to be logged',
      );
      assert.deepEqual([t.rollout(id).phase, t.rollout(id).candidateWeight], ['rolling_back', 0]);

      t.fake.fail('retireCandidates', null);
      await c.close();
      t.controller().recover();
      const done = await t.inPhase(id, 'rolled_back');
      assert.equal(done.reason, 'rolled back by ops');
      assert.deepEqual(t.fake.asked, ['start g v2', 'weight 50', 'retire', 'retire']);
      assert.equal(t.fake.served('p', 'g'), 'v1 100');
    } finally {
      await t.close();
    }
  });
});
