import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonEvent, PipelineView } from '../../shared/protocol.js';
import { fleetReducer, initialFleet, MAX_HISTORY_POINTS, MAX_LOG_LINES, type FleetAction, type FleetState } from '../../tui/state/fleet.js';
import { attentionOf, fleetRows, groupSplits, trafficSplit } from '../../tui/state/selectors.js';
import { candidateErrors, errorRateThreshold, summaryOf } from '../../shared/fleet-summary.js';
import { initialUi, uiReducer } from '../../tui/state/ui.js';
import {
  blockedByReplay,
  decision,
  latency,
  metrics,
  NOW,
  pipeline,
  roleSample,
  rollout,
  shifting,
  snapshot,
  variant,
} from './fixtures.js';

const summaries = (...pipelines: PipelineView[]) => pipelines.map(summaryOf);
const fold = (actions: FleetAction[], from: FleetState = initialFleet) => actions.reduce(fleetReducer, from);
const log = (line: string, at = NOW) =>
  ({
    type: 'event',
    event: { kind: 'log', at, pipeline: 'a', runId: 'r1', step: 'train', group: 'london', stream: 'stdout', line },
  }) as const;

const detail = (pipeline: PipelineView): FleetAction => ({ type: 'detail', pipeline });
const fleetEvent = (...pipelines: PipelineView[]): FleetAction => ({
  type: 'event',
  event: { kind: 'fleet', at: NOW, pipelines: pipelines.map(summaryOf) },
});

test('a snapshot replaces the fleet; a fleet event replaces or adds summaries; pipeline_removed drops it, its view and its logs', () => {
  let s = fold([{ type: 'snapshot', snapshot: snapshot([pipeline('a'), pipeline('b')]) }, log('hello'), detail(pipeline('a'))]);
  s = fold([fleetEvent(shifting('a'), pipeline('c'))], s);
  assert.deepEqual(
    s.pipelines.map((p) => [p.name, p.rollout?.phase ?? null]),
    [
      ['a', 'shifting'],
      ['b', null],
      ['c', null],
    ],
  );
  s = fleetReducer(s, { type: 'event', event: { kind: 'pipeline_removed', name: 'a' } });
  assert.deepEqual(
    s.pipelines.map((p) => p.name),
    ['b', 'c'],
  );
  assert.equal(s.logs.a, undefined);
  assert.equal(s.details.a, undefined);
  s = fleetReducer(s, { type: 'snapshot', snapshot: snapshot([pipeline('z')]) });
  assert.deepEqual(
    s.pipelines.map((p) => p.name),
    ['z'],
  );
});

test('full views: kept for subscribed pipelines only, replaced by pipeline_updated, dropped on forget and when gone from a snapshot', () => {
  let s = fold([{ type: 'snapshot', snapshot: snapshot([pipeline('a'), pipeline('b')]) }, detail(pipeline('a'))]);
  s = fleetReducer(s, { type: 'event', event: { kind: 'pipeline_updated', pipeline: shifting('a') } });
  s = fleetReducer(s, { type: 'event', event: { kind: 'pipeline_updated', pipeline: shifting('b') } });
  assert.equal(s.details.a?.rollout?.phase, 'shifting');
  assert.equal(s.details.b, undefined, 'not subscribed');
  assert.equal(s.pipelines[0]!.rollout, undefined, 'the summary moves with the fleet event, not with the full view');
  s = fleetReducer(s, { type: 'snapshot', snapshot: snapshot([pipeline('a')]) });
  assert.ok(s.details.a, 'still in force: kept until the subscription answers again');
  s = fleetReducer(s, { type: 'forget', pipeline: 'a' });
  assert.deepEqual(s.details, {});
});

test('a metrics tick updates only the variants it names', () => {
  let s = fold([{ type: 'snapshot', snapshot: snapshot([shifting('a'), shifting('b')]) }, detail(shifting('a')), detail(shifting('b'))]);
  s = fleetReducer(s, {
    type: 'event',
    event: { kind: 'metrics', at: NOW + 500, variants: [{ pipeline: 'a', group: 'london', variant: 'v3', metrics: metrics(100, 50) }] },
  });
  assert.equal(candidateErrors(s.details.a!)?.rate, 0.5);
  assert.equal(candidateErrors(s.details.b!)?.rate, 3 / 200);
  assert.equal(s.at, NOW + 500);
});

test('a history event appends each named pipeline a point (the last 60 kept), sets its latency, and moves the clock', () => {
  const tick = (k: number, pipelines: string[]): FleetAction => ({
    type: 'event',
    event: {
      kind: 'history',
      at: NOW + k * 5_000,
      intervalMs: 5_000,
      pipelines: pipelines.map((pipeline) => ({
        pipeline,
        point: { at: NOW + k * 5_000, current: roleSample(100, k), candidate: null },
        latency: latency({ p99Ms: k }),
      })),
    } satisfies DaemonEvent,
  });
  let s = fold([
    { type: 'snapshot', snapshot: snapshot([shifting('a'), shifting('b')]) },
    detail(shifting('a')),
    detail(shifting('b')),
    tick(1, ['a', 'ghost']),
  ]);
  const { a, b } = s.details;
  assert.deepEqual(
    a!.performance.history.points.map((p) => p.current?.errors),
    [1],
  );
  assert.equal(a!.performance.latency?.p99Ms, 1);
  assert.deepEqual(b!.performance, shifting('b').performance, 'b was not in the event');
  assert.equal(s.at, NOW + 5_000);
  s = fold(
    Array.from({ length: MAX_HISTORY_POINTS + 10 }, (_, i) => tick(i + 2, ['a'])),
    s,
  );
  const points = s.details.a!.performance.history.points;
  assert.equal(points.length, MAX_HISTORY_POINTS);
  assert.equal(points.at(-1)!.current?.errors, MAX_HISTORY_POINTS + 11, 'the newest point is last');
  assert.equal(points[0]!.current?.errors, 12, 'the oldest ones went');
  assert.equal(s.details.a!.performance.latency?.p99Ms, MAX_HISTORY_POINTS + 11);
  // Pipelines the client does not know are ignored: the list stays the same object.
  const before = s.pipelines;
  s = fleetReducer(s, tick(100, ['ghost']));
  assert.equal(s.pipelines, before);
});

test('run_updated puts the run first in the full view; the summary follows with the fleet event', () => {
  const run = (id: string, createdAt: number, status: string) => ({
    id,
    pipeline: 'a',
    trigger: 'cron',
    status,
    reason: null,
    scheduledFor: null,
    createdAt,
    startedAt: createdAt,
    finishedAt: null,
    gitCommit: null,
    steps: [],
  });
  const a = pipeline('a', { runs: [run('r1', NOW - 10, 'succeeded')] });
  let s = fold([{ type: 'snapshot', snapshot: snapshot([a]) }, detail(a)]);
  s = fleetReducer(s, { type: 'event', event: { kind: 'run_updated', run: run('r2', NOW, 'running') } });
  assert.deepEqual(
    s.details.a!.runs.map((r) => r.id),
    ['r2'],
  );
  s = fleetReducer(s, { type: 'event', event: { kind: 'run_updated', run: run('r2', NOW, 'failed') } });
  assert.equal(s.details.a!.runs[0]!.status, 'failed');
  s = fold([fleetEvent(s.details.a!)], s);
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
  assert.deepEqual(
    s.logs.a!.map((l) => l.line),
    ['first', 'second'],
  );
  s = fold(
    Array.from({ length: MAX_LOG_LINES + 5 }, (_, i) => log(`l${i}`, NOW + 10 + i)),
    s,
  );
  assert.equal(s.logs.a!.length, MAX_LOG_LINES);
  assert.equal(s.logs.a!.at(-1)!.line, `l${MAX_LOG_LINES + 4}`);
});

test('what needs a person comes first, most urgent first, then active rollouts, then by name', () => {
  const rows = fleetRows(
    summaries(
      pipeline('idle-a'),
      shifting('shifting-b'),
      pipeline('paused', { rollout: rollout({ phase: 'paused', pausedFrom: 'shifting' }) }),
      blockedByReplay('blocked'),
      pipeline('rolling', { rollout: rollout({ phase: 'rolling_back', candidateWeight: 0 }) }),
      pipeline('broken', { variants: [variant({ state: 'failed', lastError: 'exit 1' })] }),
      pipeline('aaa-idle'),
    ),
  );
  assert.deepEqual(
    rows.map((p) => p.name),
    ['blocked', 'rolling', 'paused', 'broken', 'shifting-b', 'aaa-idle', 'idle-a'],
  );
  assert.equal(attentionOf(rows[2]!)!.why, 'paused in shifting');
  assert.match(attentionOf(rows[0]!)!.why, /^blocked: replay: 2 of 100/);
});

test('the filter matches every word against name, phase and versions', () => {
  const all = summaries(pipeline('demand-forecast'), shifting('churn'), blockedByReplay('demand-eu'));
  assert.deepEqual(
    fleetRows(all, 'demand').map((p) => p.name),
    ['demand-eu', 'demand-forecast'],
  );
  assert.deepEqual(
    fleetRows(all, 'SHIFT').map((p) => p.name),
    ['churn'],
  );
  assert.deepEqual(
    fleetRows(all, 'demand blocked').map((p) => p.name),
    ['demand-eu'],
  );
  assert.deepEqual(fleetRows(all, 'nothing'), []);
});

test('traffic: the rollout weight while active, all current otherwise, per group from the variants', () => {
  assert.deepEqual(trafficSplit(summaryOf(shifting('a', 30))), { current: 70, candidate: 30 });
  assert.deepEqual(trafficSplit(summaryOf(pipeline('a'))), { current: 100, candidate: 0 });
  assert.equal(trafficSplit(summaryOf(pipeline('a', { current: null, variants: [] }))), null);
  assert.deepEqual(groupSplits(shifting('a', 30)), [{ group: 'london', current: 70, candidate: 30 }]);
});

test('error rate: the worst candidate group; the threshold only when a decision carries it', () => {
  const p = shifting('a');
  p.variants.push(variant({ group: 'paris', variant: 'v3', role: 'candidate', metrics: metrics(100, 9) }));
  assert.deepEqual(candidateErrors(p), { rate: 0.09, requests: 100, group: 'paris' });
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
