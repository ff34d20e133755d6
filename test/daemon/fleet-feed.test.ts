/**
 * Clients at fleet size: the snapshot is bounded, and the `fleet` deltas a client applies leave it
 * with what a fresh snapshot would show. The feed runs on real timers; the pipelines are full views
 * as the daemon builds them (fixtures), summarised by the same function the daemon uses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startFleetFeed } from '../../daemon/fleet-feed.js';
import { summaryOf } from '../../shared/fleet-summary.js';
import type { DaemonEvent, PipelineSummary, PipelineView, RunView } from '../../shared/protocol.js';
import { fleetReducer, initialFleet, type FleetState } from '../../tui/state/fleet.js';
import {
  blockedByDataChecks,
  blockedByReplay,
  cloudTraining,
  decision,
  history,
  latency,
  metrics,
  NOW,
  performance,
  pipeline,
  roleSample,
  rollout,
  serving,
  shifting,
  snapshot,
  variant,
} from '../tui/fixtures.js';

/** Deterministic, so a failure repeats. */
function randomFrom(seed: number) {
  return () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
}

const GROUPS = ['amsterdam', 'berlin', 'london', 'madrid', 'paris'];

/** Run ids as the daemon makes them: `r-` and 26 characters. */
const runId = (id: string) => `r-${id.padStart(26, '0')}`;

function run(id: string, status: string, reason: string | null = null): RunView {
  const steps = GROUPS.flatMap((group) =>
    ['preprocess', 'train', 'evaluate'].map((step) => ({
      step,
      group,
      executor: 'local',
      status,
      exitCode: 0,
      reason,
      startedAt: NOW - 900_000,
      finishedAt: NOW - 600_000,
    })),
  );
  return {
    id: runId(id),
    pipeline: 'p',
    trigger: 'cron',
    status,
    reason,
    scheduledFor: NOW - 900_000,
    createdAt: NOW - 900_000,
    startedAt: NOW - 900_000,
    finishedAt: NOW - 600_000,
    gitCommit: 'a'.repeat(40),
    steps,
  };
}

/** A pipeline of five groups as a busy team server has it: servers with live metrics, five runs, decisions, an hour of history. */
function busy(name: string, k: number): PipelineView {
  const phases = ['shifting', 'promoted', 'paused', 'replaying', 'blocked', 'rolled_back'] as const;
  const phase = phases[k % phases.length]!;
  const weight = phase === 'shifting' || phase === 'paused' ? 10 + (k % 9) * 10 : phase === 'promoted' ? 100 : 0;
  const variants = GROUPS.flatMap((group) => [
    variant({ group, variant: 'v7', weight: 100 - weight, metrics: metrics(900 + k, k % 3) }),
    variant({
      group,
      variant: 'v8',
      role: 'candidate',
      weight,
      metrics: metrics(100 + k, k % 5),
      state: k % 50 === 0 && group === 'paris' ? 'failed' : 'live',
      lastError: k % 50 === 0 && group === 'paris' ? 'exited with 1: ModuleNotFoundError: sklearn' : null,
    }),
  ]);
  return pipeline(name, {
    dir: `pipelines/${name}`,
    groups: GROUPS,
    current: { version: 'v7', groups: Object.fromEntries(GROUPS.map((g) => [g, 'v7'])) },
    variants,
    rollout: rollout({
      id: 40 + k,
      phase,
      candidateWeight: weight,
      candidateVersion: 'v8',
      currentVersion: 'v7',
      groups: GROUPS.map((group) => ({ group, candidateVersion: 'v8', currentVersion: 'v7' })),
      pausedFrom: phase === 'paused' ? 'shifting' : null,
      reason:
        phase === 'blocked'
          ? 'replay: 3 of 200 requests that worked on v7 fail on v8'
          : phase === 'rolled_back'
            ? 'error rate 7.5% above 5.0% over 312 requests'
            : null,
      decisions: Array.from({ length: 12 }, (_, i) =>
        decision({ at: NOW - (12 - i) * 60_000, rule: i === 11 ? 'error_rate' : 'step', observed: i, threshold: i === 11 ? 0.05 : 100 }),
      ),
    }),
    runs: [
      run(`r${k}-5`, k % 7 === 0 ? 'failed' : 'succeeded', k % 7 === 0 ? 'train in berlin exited with 3' : null),
      run(`r${k}-4`, 'succeeded'),
      run(`r${k}-3`, 'succeeded'),
      run(`r${k}-2`, 'succeeded'),
      run(`r${k}-1`, 'succeeded'),
    ],
    performance: performance({
      latency: latency({ p50Ms: 3 + (k % 4), p99Ms: 20 + (k % 30) }),
      history: history(60, (i) => ({ current: roleSample(300 + i, i % 3), candidate: roleSample(40 + i, i % 2) })),
      training: cloudTraining,
      serving: { ...serving, instances: 10 },
    }),
  });
}

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** A pipeline of the fleet after its burst: five groups serving the promoted version, the last run succeeded, traffic flowing. */
function settled(name: string, k: number): PipelineView {
  const p = busy(name, k);
  return {
    ...p,
    variants: p.variants.filter((v) => v.role === 'current').map((v) => ({ ...v, state: 'live' as const, weight: 100 })),
    rollout: { ...p.rollout!, phase: 'promoted', candidateWeight: 100, pausedFrom: null, reason: null, nextStep: null },
    runs: p.runs.map((r) => ({ ...r, status: 'succeeded', reason: null })),
  };
}

const KB = 1024;
const name = (k: number) => `pipeline-${String(k).padStart(4, '0')}`;

// The bounds docs/api.md states (its "Summaries").
test("the snapshot of the issue's fleet, 1,000 pipelines × 5 groups serving, is under 300 KB; every pipeline mid-rollout, under 500 KB", (t) => {
  const settledFleet = Array.from({ length: 1_000 }, (_, k) => settled(name(k), k));
  const busyFleet = Array.from({ length: 1_000 }, (_, k) => busy(name(k), k));
  const sizes = {
    settled: bytes(snapshot(settledFleet)),
    busy: bytes(snapshot(busyFleet)),
    settledFull: bytes(settledFleet),
    busyFull: bytes(busyFleet),
  };
  const said = JSON.stringify(Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, `${(v / KB).toFixed(0)} KB`])));
  t.diagnostic(said);
  assert.ok(sizes.settled < 300 * KB, said);
  assert.ok(sizes.busy < 500 * KB, said);
  assert.ok(sizes.busyFull > 10 * sizes.busy, `the full views (what status --json prints) are many times larger: ${said}`);
});

test('a summary does not grow with what it summarises: long reasons are cut, runs, decisions and history are left out', () => {
  const long = 'x'.repeat(5_000);
  const p = busy('a-pipeline-with-a-rather-long-name-for-the-fleet', 0);
  p.rollout = { ...p.rollout!, phase: 'paused', pausedFrom: 'shifting', reason: long, nextStep: { at: NOW, weight: 40 } };
  p.runs[0] = { ...p.runs[0]!, status: 'failed', reason: long };
  p.variants[9] = { ...p.variants[9]!, state: 'failed', lastError: long };
  p.problems = Array.from({ length: 50 }, (_, i) => ({ file: 'pipeline.yaml', line: i, col: 1, message: long }));
  const s = summaryOf(p);
  assert.ok(bytes(s) < 1.3 * KB, `${bytes(s)} bytes: ${JSON.stringify(s)}`);
  assert.equal(s.rollout?.reason?.length, 200);
  assert.equal(s.problems, 50);
  const more = { ...p, groups: [...p.groups, ...Array.from({ length: 95 }, (_, i) => `city-${i}`)], runs: [...p.runs, ...p.runs] };
  assert.equal(bytes(summaryOf(more)), bytes(s) + 2, 'a hundred groups cost two more digits, twice the runs nothing');
});

/** One change a daemon can make to a pipeline. */
function changed(p: PipelineView, random: () => number): PipelineView {
  const k = Math.floor(random() * 1_000);
  switch (Math.floor(random() * 8)) {
    case 0:
      return shifting(p.name, 10 + (k % 9) * 10, k % 20);
    case 1:
      return blockedByReplay(p.name);
    case 2:
      return blockedByDataChecks(p.name);
    case 3:
      return { ...p, variants: [variant({ state: 'failed', lastError: `exit ${k}` })] };
    case 4:
      return { ...p, runs: [run(`r${k}`, k % 2 ? 'failed' : 'running', k % 2 ? 'train failed' : null), ...p.runs].slice(0, 5) };
    case 5:
      return { ...p, performance: { ...p.performance, latency: latency({ p50Ms: k % 10, p99Ms: k }) } };
    case 6:
      return {
        ...p,
        rollout: rollout({
          phase: 'paused',
          pausedFrom: 'shifting',
          candidateWeight: k % 100,
          decisions: [decision({ rule: 'error_rate', threshold: k / 1000 })],
        }),
      };
    default:
      return busy(p.name, k);
  }
}

const byName = (list: readonly PipelineSummary[]) => Object.fromEntries(list.map((s) => [s.name, s]));

test('fleet deltas carry only the pipelines that changed, at most one per tick, and leave the client as a fresh snapshot would', async () => {
  const random = randomFrom(7);
  const model = new Map<string, PipelineView>(Array.from({ length: 40 }, (_, k) => [`p${k}`, busy(`p${k}`, k)] as const));
  const published: DaemonEvent[] = [];
  const tickMs = 15;
  const feed = startFleetFeed({
    summaries: (names) => names.flatMap((name) => model.get(name) ?? []).map(summaryOf),
    publish: (event) => published.push(event),
    now: Date.now,
    tickMs,
  });
  let client: FleetState = fleetReducer(initialFleet, { type: 'snapshot', snapshot: snapshot([...model.values()]) });
  let added = 0;
  try {
    for (let round = 0; round < 60; round++) {
      const touched = new Set<string>();
      const changes = 1 + Math.floor(random() * 6);
      for (let c = 0; c < changes; c++) {
        const names = [...model.keys()];
        const roll = random();
        if (roll < 0.1) {
          // Added: the repo listener reports it as updated.
          const name = `new-${added++}`;
          model.set(name, pipeline(name));
          feed.changed([name]);
          touched.add(name);
        } else if (roll < 0.18 && names.length > 1) {
          // Removed: its own event goes out at once, as the daemon publishes it.
          const name = names[Math.floor(random() * names.length)]!;
          model.delete(name);
          published.push({ kind: 'pipeline_removed', name });
        } else {
          const name = names[Math.floor(random() * names.length)]!;
          model.set(name, changed(model.get(name)!, random));
          feed.changed([name]);
          touched.add(name);
        }
      }
      const before = published.length;
      await new Promise((resolve) => setTimeout(resolve, tickMs * 3));
      const fleetEvents = published.slice(before).filter((e) => e.kind === 'fleet');
      assert.ok(fleetEvents.length <= 1, `round ${round}: ${fleetEvents.length} fleet events for one burst`);
      for (const e of fleetEvents) {
        for (const s of e.pipelines) assert.ok(touched.has(s.name), `round ${round}: ${s.name} did not change`);
        assert.equal(
          e.pipelines.length,
          [...touched].filter((n) => model.has(n)).length,
          `round ${round}: every changed pipeline still in force, once`,
        );
      }
      for (const event of published.splice(0)) client = fleetReducer(client, { type: 'event', event });
      const fresh = fleetReducer(initialFleet, { type: 'snapshot', snapshot: snapshot([...model.values()]) });
      assert.deepEqual(byName(client.pipelines), byName(fresh.pipelines), `round ${round}`);
      assert.equal(client.pipelines.length, model.size);
    }
  } finally {
    feed.close();
  }
});

test('a change after a quiet tick goes out at once; a burst waits for the tick', async () => {
  const published: { at: number; names: string[] }[] = [];
  const feed = startFleetFeed({
    summaries: (names) => names.map((name) => summaryOf(pipeline(name))),
    publish: (event) => event.kind === 'fleet' && published.push({ at: performance_now(), names: event.pipelines.map((p) => p.name) }),
    now: Date.now,
    tickMs: 200,
  });
  try {
    const start = performance_now();
    feed.changed(['a']);
    feed.changed(['b', 'a']);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(
      published.map((p) => p.names),
      [['a', 'b']],
      'the same turn of the event loop is one event',
    );
    assert.ok(published[0]!.at - start < 50, 'the first change does not wait for a tick');
    feed.changed(['c']);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(published.length, 1, 'within the tick it waits');
    await new Promise((resolve) => setTimeout(resolve, 250));
    assert.deepEqual(
      published.map((p) => p.names),
      [['a', 'b'], ['c']],
    );
  } finally {
    feed.close();
  }
});

const performance_now = () => globalThis.performance.now();
