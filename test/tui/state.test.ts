import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonEvent } from '../../shared/protocol.js';
import { fleetReducer, initialFleet, MAX_HISTORY_POINTS, MAX_LOG_LINES, type FleetAction, type FleetState } from '../../tui/state/fleet.js';
import { attentionOf, candidateErrorRate, errorRateThreshold, fleetRows, groupSplits, trafficSplit } from '../../tui/state/selectors.js';
import { initialUi, uiReducer } from '../../tui/state/ui.js';
import { blockedByReplay, decision, latency, metrics, NOW, pipeline, roleSample, rollout, shifting, snapshot, variant } from './fixtures.js';

const fold = (actions: FleetAction[], from: FleetState = initialFleet) => actions.reduce(fleetReducer, from);
const log = (line: string, at = NOW) => ({ type: 'event', event: { kind: 'log', at, pipeline: 'a', runId: 'r1', step: 'train', group: 'london', stream: 'stdout', line } }) as const;

test('a snapshot replaces the fleet; pipeline_updated replaces or adds; pipeline_removed drops it and its logs', () => {
  let s = fold([{ type: 'snapshot', snapshot: snapshot([pipeline('a'), pipeline('b')]) }, log('hello')]);
  s = fleetReducer(s, { type: 'event', event: { kind: 'pipeline_updated', pipeline: shifting('a') } });
  s = fleetReducer(s, { type: 'event', event: { kind: 'pipeline_updated', pipeline: pipeline('c') } });
  assert.deepEqual(s.pipelines.map((p) => [p.name, p.rollout?.phase ?? null]), [['a', 'shifting'], ['b', null], ['c', null]]);
  s = fleetReducer(s, { type: 'event', event: { kind: 'pipeline_removed', name: 'a' } });
  assert.deepEqual(s.pipelines.map((p) => p.name), ['b', 'c']);
  assert.equal(s.logs.a, undefined);
  s = fleetReducer(s, { type: 'snapshot', snapshot: snapshot([pipeline('z')]) });
  assert.deepEqual(s.pipelines.map((p) => p.name), ['z']);
});

test('a metrics tick updates only the variants it names', () => {
  let s = fold([{ type: 'snapshot', snapshot: snapshot([shifting('a'), shifting('b')]) }]);
  s = fleetReducer(s, { type: 'event', event: { kind: 'metrics', at: NOW + 500, variants: [{ pipeline: 'a', group: 'london', variant: 'v3', metrics: metrics(100, 50) }] } });
  assert.equal(candidateErrorRate(s.pipelines[0]!)?.rate, 0.5);
  assert.equal(candidateErrorRate(s.pipelines[1]!)?.rate, 3 / 200);
  assert.equal(s.at, NOW + 500);
});

test('a history event appends each named pipeline a point (the last 60 kept), sets its latency, and moves the clock', () => {
  const tick = (k: number, pipelines: string[]): FleetAction => ({
    type: 'event',
    event: {
      kind: 'history',
      at: NOW + k * 5_000,
      intervalMs: 5_000,
      pipelines: pipelines.map((pipeline) => ({ pipeline, point: { at: NOW + k * 5_000, current: roleSample(100, k), candidate: null }, latency: latency({ p99Ms: k }) })),
    } satisfies DaemonEvent,
  });
  let s = fold([{ type: 'snapshot', snapshot: snapshot([shifting('a'), shifting('b')]) }, tick(1, ['a', 'ghost'])]);
  const [a, b] = s.pipelines;
  assert.deepEqual(a!.performance.history.points.map((p) => p.current?.errors), [1]);
  assert.equal(a!.performance.latency?.p99Ms, 1);
  assert.deepEqual(b!.performance, shifting('b').performance, 'b was not in the event');
  assert.equal(s.at, NOW + 5_000);
  s = fold(Array.from({ length: MAX_HISTORY_POINTS + 10 }, (_, i) => tick(i + 2, ['a'])), s);
  const points = s.pipelines[0]!.performance.history.points;
  assert.equal(points.length, MAX_HISTORY_POINTS);
  assert.equal(points.at(-1)!.current?.errors, MAX_HISTORY_POINTS + 11, 'the newest point is last');
  assert.equal(points[0]!.current?.errors, 12, 'the oldest ones went');
  assert.equal(s.pipelines[0]!.performance.latency?.p99Ms, MAX_HISTORY_POINTS + 11);
  // Pipelines the client does not know are ignored: the list stays the same object.
  const before = s.pipelines;
  s = fleetReducer(s, tick(100, ['ghost']));
  assert.equal(s.pipelines, before);
});

test('run_updated puts the run first', () => {
  const run = (id: string, createdAt: number, status: string) => ({ id, pipeline: 'a', trigger: 'cron', status, reason: null, scheduledFor: null, createdAt, startedAt: createdAt, finishedAt: null, gitCommit: null, steps: [] });
  let s = fold([{ type: 'snapshot', snapshot: snapshot([pipeline('a', { runs: [run('r1', NOW - 10, 'succeeded')] })]) }]);
  s = fleetReducer(s, { type: 'event', event: { kind: 'run_updated', run: run('r2', NOW, 'running') } });
  assert.deepEqual(s.pipelines[0]!.runs.map((r) => r.id), ['r2']);
  s = fleetReducer(s, { type: 'event', event: { kind: 'run_updated', run: run('r2', NOW, 'failed') } });
  assert.equal(s.pipelines[0]!.runs[0]!.status, 'failed');
  assert.match(attentionOf(s.pipelines[0]!)!.why, /run r2 failed/);
});

test('log lines: events and stored lines merge without duplicates, in time order, bounded', () => {
  let s = fold([log('second', NOW + 1)]);
  s = fleetReducer(s, {
    type: 'logs',
    pipeline: 'a',
    lines: [
      { id: 1, at: NOW, pipeline: 'a', runId: 'r1', step: 'train', group: 'london', stream: 'stdout', line: 'first' },
      { id: 2, at: NOW + 1, pipeline: 'a', runId: 'r1', step: 'train', group: 'london', stream: 'stdout', line: 'second' },
    ],
  });
  assert.deepEqual(s.logs.a!.map((l) => l.line), ['first', 'second']);
  s = fold(Array.from({ length: MAX_LOG_LINES + 5 }, (_, i) => log(`l${i}`, NOW + 10 + i)), s);
  assert.equal(s.logs.a!.length, MAX_LOG_LINES);
  assert.equal(s.logs.a!.at(-1)!.line, `l${MAX_LOG_LINES + 4}`);
});

test('what needs a person comes first, most urgent first, then active rollouts, then by name', () => {
  const rows = fleetRows([
    pipeline('idle-a'),
    shifting('shifting-b'),
    pipeline('paused', { rollout: rollout({ phase: 'paused', pausedFrom: 'shifting' }) }),
    blockedByReplay('blocked'),
    pipeline('rolling', { rollout: rollout({ phase: 'rolling_back', candidateWeight: 0 }) }),
    pipeline('broken', { variants: [variant({ state: 'failed', lastError: 'exit 1' })] }),
    pipeline('aaa-idle'),
  ]);
  assert.deepEqual(rows.map((p) => p.name), ['blocked', 'rolling', 'paused', 'broken', 'shifting-b', 'aaa-idle', 'idle-a']);
  assert.equal(attentionOf(rows[2]!)!.why, 'paused in shifting');
  assert.match(attentionOf(rows[0]!)!.why, /^blocked: replay: 2 of 100/);
});

test('the filter matches every word against name, phase and versions', () => {
  const all = [pipeline('demand-forecast'), shifting('churn'), blockedByReplay('demand-eu')];
  assert.deepEqual(fleetRows(all, 'demand').map((p) => p.name), ['demand-eu', 'demand-forecast']);
  assert.deepEqual(fleetRows(all, 'SHIFT').map((p) => p.name), ['churn']);
  assert.deepEqual(fleetRows(all, 'demand blocked').map((p) => p.name), ['demand-eu']);
  assert.deepEqual(fleetRows(all, 'nothing'), []);
});

test('traffic: the rollout weight while active, all current otherwise, per group from the variants', () => {
  assert.deepEqual(trafficSplit(shifting('a', 30)), { current: 70, candidate: 30 });
  assert.deepEqual(trafficSplit(pipeline('a')), { current: 100, candidate: 0 });
  assert.equal(trafficSplit(pipeline('a', { current: null, variants: [] })), null);
  assert.deepEqual(groupSplits(shifting('a', 30)), [{ group: 'london', current: 70, candidate: 30 }]);
});

test('error rate: the worst candidate group; the threshold only when a decision carries it', () => {
  const p = shifting('a');
  p.variants.push(variant({ group: 'paris', variant: 'v3', role: 'candidate', metrics: metrics(100, 9) }));
  assert.deepEqual(candidateErrorRate(p), { rate: 0.09, requests: 100, group: 'paris' });
  assert.equal(errorRateThreshold(p), null);
  p.rollout!.decisions.push(decision({ rule: 'error_rate', observed: 0.09, threshold: 0.05, verdict: 'rollback' }));
  assert.equal(errorRateThreshold(p), 0.05);
});

test('ui: moves follow the rows shown, back unwinds help, logs, pipeline, filter', () => {
  let ui = uiReducer(initialUi, { type: 'move', delta: 1, rows: ['a', 'b', 'c'] });
  assert.equal(ui.selected, 'a');
  ui = uiReducer(ui, { type: 'move', delta: 1, rows: ['c', 'a', 'b'] });
  assert.equal(ui.selected, 'b');
  ui = uiReducer(ui, { type: 'move', delta: 5, rows: ['c', 'a', 'b'] });
  assert.equal(ui.selected, 'b');
  ui = uiReducer(uiReducer(uiReducer(ui, { type: 'open' }), { type: 'logs' }), { type: 'help' });
  ui = { ...ui, filter: 'x' };
  const views = [];
  for (let i = 0; i < 4; i++) {
    ui = uiReducer(ui, { type: 'back' });
    views.push(`${ui.view}${ui.help ? '+help' : ''}:${ui.filter}`);
  }
  assert.deepEqual(views, ['logs:x', 'pipeline:x', 'fleet:x', 'fleet:']);
});
