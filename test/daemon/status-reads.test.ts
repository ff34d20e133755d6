/**
 * Status that costs what changed (issue 11): the store's records of every pipeline a snapshot shows
 * are read together, by a number of SQLite statements that does not grow with the fleet, and they
 * are the records the per-pipeline queries return. Real SQLite files, a real repo of generated
 * pipelines read by the daemon's repo service.
 */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { createLogger } from '../../daemon/log.js';
import { notificationsViewOf } from '../../daemon/notify/view.js';
import { startRepoService } from '../../daemon/repo/service.js';
import { buildFullSnapshot, buildSnapshot, pipelineView, summariesOf, viewsOf, type StatusSources } from '../../daemon/status.js';
import { summaryOf } from '../../shared/fleet-summary.js';
import { createStorageHealth } from '../../daemon/storage-health.js';
import type { Store } from '../../daemon/store/db.js';
import { RECENT_FAILURES, RECENT_NOTIFICATIONS, RECENT_RUNS } from '../../daemon/store/fleet-reads.js';
import { fleetRepo, pipelineName } from '../helpers/fleet.js';
import { metrics } from '../tui/fixtures.js';
import { freshStore } from './store/helpers.js';

const GROUPS = ['g1', 'g2'];

/**
 * Writes a history for pipeline `i` that differs from its neighbours' (some have nothing at all):
 * runs with ties in their creation time, steps, versions, live and retired variants, a finished
 * rollout and maybe an active one with decisions, notifications delivered and failed.
 */
function seed(store: Store, i: number): void {
  const pipeline = pipelineName(i);
  if (i % 5 === 4) return;
  store.transaction(() => {
    const runs = [];
    for (let k = 0; k < 1 + (i % 8); k++) {
      const { run } = store.runs.enqueue({ pipeline, trigger: 'manual', at: 1_000 + Math.floor(k / 2) * 10 }); // pairs share a creation time
      runs.push(run);
      if (k % 3 === 2) continue; // still queued
      store.runs.setStatus(run.id, 'running', { at: 1_001 + k });
      for (const group of GROUPS) {
        const step = store.stepRuns.start({ runId: run.id, step: 'train', group, executor: 'local', at: 1_002 + k });
        store.stepRuns.finish(step.id, { status: 'succeeded', exitCode: 0, at: 1_003 + k });
      }
      store.runs.setStatus(run.id, (i + k) % 4 === 0 ? 'failed' : 'succeeded', {
        at: 1_004 + k,
        reason: (i + k) % 4 === 0 ? 'train exited with 1' : null,
      });
    }
    for (const group of GROUPS) {
      for (let v = 0; v < 3; v++)
        store.modelVersions.create({
          pipeline,
          group,
          runId: runs[0]!.id,
          artifactUri: (n) => `file:///m/${pipeline}/${group}/v${n}`,
          at: 1_100,
        });
    }
    for (const group of GROUPS) {
      const old = store.variants.create({ pipeline, group, version: 1, role: 'current', weight: 100, backend: 'local', at: 1_200 });
      if (i % 2 === 0) {
        store.variants.retire(old.id, 1_300);
        store.variants.create({ pipeline, group, version: 2, role: 'current', weight: 100, backend: 'local', at: 1_300 });
      }
    }
    const groups = GROUPS.map((group) => ({ group, candidate: 2, current: 1 }));
    const done = store.rollouts.create({ pipeline, groups, at: 1_200 });
    store.decisions.record(done.id, {
      at: 1_250,
      phase: 'deploying',
      rule: 'step',
      observed: 1,
      threshold: null,
      sample: null,
      verdict: 'advance',
      reason: 'deployed',
    });
    store.rollouts.save(
      { ...done, phase: 'promoted', candidateWeight: 100, finishedAt: 1_300 },
      { expectedVersion: done.version, at: 1_300 },
    );
    if (i % 3 === 1) {
      const active = store.rollouts.create({ pipeline, groups: GROUPS.map((group) => ({ group, candidate: 3, current: 2 })), at: 1_400 });
      for (let d = 0; d < 1 + (i % 4); d++) {
        store.decisions.record(active.id, {
          at: 1_400 + d,
          phase: 'shifting',
          rule: 'error_rate',
          observed: d / 100,
          threshold: 0.05 + d / 100,
          sample: { requests: d },
          verdict: 'hold',
          reason: `hold ${d}`,
        });
      }
      store.variants.create({ pipeline, group: 'g1', version: 3, role: 'candidate', weight: 0, backend: 'local', at: 1_400 });
      // An error_rate decision without a threshold: the summary's threshold is the one before it.
      if (i % 2)
        store.decisions.record(active.id, {
          at: 1_499,
          phase: 'shifting',
          rule: 'error_rate',
          observed: null,
          threshold: null,
          sample: null,
          verdict: 'hold',
          reason: 'no traffic yet',
        });
    }
    if (i % 3 === 2) store.rollouts.create({ pipeline, groups: GROUPS.map((group) => ({ group, candidate: 3, current: 2 })), at: 1_400 }); // active, no decisions yet
    store.notifications.enqueue(
      Array.from({ length: (i % 3) * 7 }, (_, n) => ({
        eventId: `${pipeline}-${n}`,
        pipeline,
        event: 'blocked' as const,
        target: 'https://hooks.example/x',
        payload: { text: `n${n}` },
      })),
      1_500,
    );
    for (const n of store.notifications.due(2_000, 1_000).filter((x) => x.pipeline === pipeline)) {
      store.notifications.recordAttempt(
        n.id,
        n.id % 2 ? { status: 'failed', httpStatus: 500, error: 'boom' } : { status: 'delivered', httpStatus: 200 },
        1_600,
      );
    }
  });
}

/** A store whose every executed statement is counted while `counting` is on. */
function countingStore() {
  const counter = { on: false, statements: 0 };
  const store = freshStore({ trace: () => void (counter.on && counter.statements++) });
  return {
    store,
    count: <T>(fn: () => T) => ((counter.on = true), (counter.statements = 0), fn(), (counter.on = false), counter.statements),
  };
}

describe('the records of many pipelines, read together', () => {
  test('are what the per-pipeline queries return, for pipelines with and without history', () => {
    const store = freshStore();
    const names = Array.from({ length: 24 }, (_, i) => pipelineName(i));
    names.forEach((_, i) => seed(store, i));
    const records = store.fleetReads.of([...names, 'unknown']);
    assert.equal(records.size, names.length + 1);
    for (const name of [...names, 'unknown']) {
      const r = records.get(name)!;
      assert.deepEqual(r.live, store.variants.live(name), `${name}: live variants`);
      assert.deepEqual(r.recentRuns, store.runs.listRecent(name, RECENT_RUNS), `${name}: recent runs, newest first (ties by insertion)`);
      assert.deepEqual(r.latestSucceeded, store.runs.latestSucceeded(name) ?? null, `${name}: latest succeeded run`);
      for (const run of [...r.recentRuns, ...(r.latestSucceeded ? [r.latestSucceeded] : [])]) {
        assert.deepEqual(r.steps.get(run.id) ?? [], store.stepRuns.listByRun(run.id), `${name}: steps of ${run.id}`);
      }
      const rollout = store.rollouts.active(name) ?? store.rollouts.latest(name) ?? null;
      assert.deepEqual(r.rollout, rollout, `${name}: the active rollout, else the latest`);
      assert.deepEqual(r.decisions, rollout ? store.decisions.list(rollout.id) : [], `${name}: decisions`);
      assert.deepEqual(r.notifications.recent, store.notifications.recent(name, RECENT_NOTIFICATIONS), `${name}: notifications`);
      assert.deepEqual(r.notifications.failures, store.notifications.recentFailures(name, RECENT_FAILURES), `${name}: failures`);
    }
    const seeded = records.get(pipelineName(7))!;
    assert.equal(seeded.recentRuns.length, RECENT_RUNS, 'the seed has more runs than status shows');
    assert.ok(
      records.get(pipelineName(1))!.decisions.length > 0 && records.get(pipelineName(13))!.notifications.failures.length > 0,
      'the seed has decisions and failures',
    );
  });
});

describe('status of a fleet', () => {
  const log = createLogger({ write: () => undefined });

  async function fleet(pipelines: number) {
    const { store, count } = countingStore();
    for (let i = 0; i < pipelines; i++) seed(store, i);
    const storage = createStorageHealth({ log, file: store.file });
    const repo = await startRepoService({ root: fleetRepo({ pipelines, groups: GROUPS.length }), store, storage, log });
    after(async () => {
      await repo.close();
      storage.close();
    });
    const sources: StatusSources = {
      registry: repo.registry,
      groups: repo.groups,
      store,
      timeScale: 1,
      notifications: (_name, sent) => notificationsViewOf(sent, [], {}),
      variantMetrics: (_p, _g, variant) => metrics(100, variant === 'v3' ? 7 : 0), // a candidate's error rate shows beside the threshold
    };
    return { store, count, sources };
  }

  test('a snapshot and `status --json` cost the same number of statements for 20 pipelines as for 40', async (t) => {
    const small = await fleet(20);
    const large = await fleet(40);
    const costs = [small, large].map(({ count, sources }) => ({
      snapshot: count(() => buildSnapshot(sources, 0)),
      full: count(() => buildFullSnapshot(sources, 0, null)),
      one: count(() => pipelineView(sources.registry.list()[0]!, sources)),
    }));
    t.diagnostic(`statements: ${JSON.stringify(costs[0])}`);
    assert.equal(buildSnapshot(large.sources, 0).pipelines.length, 40);
    assert.ok(costs[0]!.snapshot > 0, 'the counter counts');
    assert.deepEqual(costs[1], costs[0], `statements: ${JSON.stringify(costs)}`);
    assert.ok(costs[0]!.full <= 8 && costs[0]!.snapshot <= 4, `a handful of statements for the whole fleet: ${JSON.stringify(costs[0])}`);
  });

  test("the fleet list's summaries, read from a summary's records only, are the summaries of the full views", async () => {
    const { sources } = await fleet(24);
    const pipelines = sources.registry.list();
    const summaries = summariesOf(pipelines, sources);
    assert.deepEqual(summaries, viewsOf(pipelines, sources).map(summaryOf));
    const thresholds = summaries.map((s) => s.rollout?.errorRateThreshold).filter((t) => t !== undefined);
    assert.ok(thresholds.length >= 4 && new Set(thresholds).size > 1, `thresholds from decisions: ${JSON.stringify(thresholds)}`);
    assert.ok(summaries.some((s) => s.lastRun?.status === 'failed') && summaries.some((s) => s.lastRun === undefined), 'the seed varies');
    assert.deepEqual(buildSnapshot(sources, 0).pipelines, summaries);
  });

  test('what changed in the store shows in the next status', async () => {
    const { store, sources } = await fleet(6);
    const name = pipelineName(3);
    const view = () => buildFullSnapshot(sources, 0, null).pipelines.find((p) => p.name === name)!;
    const summary = () => buildSnapshot(sources, 0).pipelines.find((p) => p.name === name)!;
    const before = view();
    const { run } = store.runs.enqueue({ pipeline: name, trigger: 'manual', at: 9_000 });
    assert.equal(view().runs[0]!.id, run.id);
    assert.deepEqual(summary().lastRun, { status: 'queued', at: 9_000, id: run.id });
    const variant = store.variants.live(name)[0]!;
    store.variants.observe(variant.id, { state: 'failed', port: null, handle: null, restarts: 3, lastError: 'exited with 1', at: 9_100 });
    assert.deepEqual(summary().failedServer, { group: variant.group, variant: `v${variant.version}`, lastError: 'exited with 1' });
    const rollout = store.rollouts.create({
      pipeline: name,
      groups: GROUPS.map((group) => ({ group, candidate: 3, current: 2 })),
      at: 9_200,
    });
    store.decisions.record(rollout.id, {
      at: 9_300,
      phase: 'deploying',
      rule: 'error_rate',
      observed: 0.1,
      threshold: 0.05,
      sample: null,
      verdict: 'hold',
      reason: 'too many errors',
    });
    assert.equal(before.rollout!.phase, 'promoted');
    assert.deepEqual(
      [view().rollout!.id, view().rollout!.phase, view().rollout!.decisions.map((d) => d.reason)],
      [rollout.id, 'deploying', ['too many errors']],
    );
  });
});
