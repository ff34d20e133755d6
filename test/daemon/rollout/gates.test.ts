/**
 * The gate runner's reports as they are stored and sent: the replay gate against real model server
 * processes, a group without captured traffic skipped and said so, the data-checks gate over real
 * files; each report is what the clients' schema reads.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runDataCheckGate } from '../../../daemon/rollout/data-checks.js';
import { systemClock } from '../../../daemon/scheduler/clock.js';
import { createGateRunner, type GateDeps } from '../../../daemon/rollout/gates.js';
import type { step } from '../../../daemon/rollout/machine.js';
import type { InForcePipeline } from '../../../daemon/repo/reconcile.js';
import type { CapturedRequest } from '../../../daemon/serving/capture/format.js';
import { PipelineFileSchema, type PipelineInput } from '../../../shared/config/schema.js';
import { dataChecksGateReport } from '../../../shared/reports/data-checks.js';
import { replayGateReport } from '../../../shared/reports/replay.js';
import { requestsUpTo, startModel, type TestModel } from '../replay/helpers.js';
import { rolloutOf } from '../../helpers/rollouts.js';

type Rollout = Parameters<typeof step>[0];

const rollout = (groups: string[]): Rollout =>
  rolloutOf({ pipeline: 'demand', groups: groups.map((group) => ({ group, candidate: 2, current: 1 })), phase: 'replaying' });

describe('the gate runner', () => {
  let current: TestModel;
  let candidate: TestModel;
  const dir = mkdtempSync(join(tmpdir(), 'mlp-gates-'));
  before(async () => {
    current = await startModel('v1');
    candidate = await startModel('v2', { FAIL_MOD: 5 });
    mkdirSync(join(dir, 'data'));
    copyFileSync(join(import.meta.dirname, '../../fixtures/gx/people.suite.json'), join(dir, 'people.suite.json'));
    copyFileSync(join(import.meta.dirname, '../../fixtures/gx/people.csv'), join(dir, 'data', 'people.csv'));
  });
  after(async () => {
    await Promise.all([current.stop(), candidate.stop()]);
  });

  /** A runner for one pipeline whose models are the real servers above; `captured` is each group's capture. */
  const runner = (deployment: NonNullable<PipelineInput['pipeline']['deployment']>, captured: Record<string, CapturedRequest[]>) => {
    const pipeline: InForcePipeline = {
      name: 'demand',
      dir,
      file: join(dir, 'pipeline.yaml'),
      hash: 'h',
      loadedAt: 0,
      problems: [],
      config: PipelineFileSchema.parse({ pipeline: { name: 'demand', deployment } }),
    };
    const deps: GateDeps = {
      pipeline: (name) => (name === 'demand' ? pipeline : undefined),
      repoConfig: () => null,
      repoRoot: dir,
      platform: {
        endpointOf: (_p, _group, role) => {
          const model = role === 'candidate' ? candidate : current;
          return { ...model, variant: model.name, env: {} };
        },
        async *capturedRequests(_p, group) {
          yield* captured[group] ?? [];
        },
      },
      executor: { kind: 'local', run: () => Promise.reject(new Error('this pipeline has no integration tests')) },
      logs: { write: () => undefined, flush: () => undefined },
      dataChecks: runDataCheckGate,
      timeScale: 1,
      clock: systemClock,
    };
    return createGateRunner(deps);
  };

  it('replays each group with traffic; a group without says so in days as people count them', async () => {
    const gates = runner({ replay: { window_days: 1 } }, { london: requestsUpTo(20) });
    const outcome = await gates.run('replay', rollout(['london', 'paris']), new AbortController().signal);
    assert.equal(outcome.passed, false);
    const report = replayGateReport.parse(JSON.parse(JSON.stringify(outcome.report)));
    assert.deepEqual(report.paris, { skipped: 'no captured traffic for paris in the last 1 day' });
    assert.ok(
      report.london && 'regressions' in report.london && report.london.regressions.count === 4,
      JSON.stringify(report.london).slice(0, 300),
    );
    assert.match(outcome.summary, /^london: 4 of 20 requests that worked on v1 fail on v2/);
  });

  it('passes as skipped when no group has traffic, saying why for each', async () => {
    const gates = runner({ replay: { window_days: 30 } }, {});
    const outcome = await gates.run('replay', rollout(['london', 'paris']), new AbortController().signal);
    assert.deepEqual(
      { passed: outcome.passed, skipped: outcome.skipped, summary: outcome.summary },
      {
        passed: true,
        skipped: true,
        summary:
          'replay skipped: london: no captured traffic for london in the last 30 days; paris: no captured traffic for paris in the last 30 days',
      },
    );
    assert.deepEqual(replayGateReport.parse(outcome.report), outcome.report);
  });

  it('keeps each data check report, one per suite and group, as the clients read them', async () => {
    const gates = runner({ data_checks: [{ suite: 'people.suite.json', data: 'data/people.csv' }] }, {});
    const outcome = await gates.run('data_checks', rollout(['london', 'paris']), new AbortController().signal);
    assert.equal(outcome.passed, false);
    const reports = dataChecksGateReport.parse(JSON.parse(JSON.stringify(outcome.report)));
    assert.equal(reports.length, 2);
    assert.ok(reports.every((r) => r.suite === 'people.suite.json' && r.failed.length > 0));
  });
});
