/**
 * The gate reports and decisions on the wire (shared/reports/): what the daemon's own code builds
 * (a replay against real model server processes, data checks on real files, the state machine's
 * decisions) goes through the schemas the clients parse with, unchanged; a report in a shape this
 * client does not know reaches it as "not readable", and the rest of the message with it.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runDataChecks } from '../../daemon/checks/index.js';
import { runReplay } from '../../daemon/replay/run.js';
import { step, type RolloutEvent, type RolloutPolicy } from '../../daemon/rollout/machine.js';
import { rolloutView, serverMessage, type RolloutView } from '../../shared/protocol.js';
import { dataChecksGateReport, type DataCheckReport } from '../../shared/reports/data-checks.js';
import { decision } from '../../shared/reports/decision.js';
import { gateViewsOf, type GateOutcomes } from '../../shared/reports/gates.js';
import { replayReport, type ReplayGateReport, type ReplayReport } from '../../shared/reports/replay.js';
import { UnreadableReport } from '../../shared/reports/unreadable.js';
import { requestsUpTo, startModel, type TestModel } from '../daemon/replay/helpers.js';
import { fullSnapshot, pipeline, rollout } from '../tui/fixtures.js';
import { rolloutOf } from '../helpers/rollouts.js';

/** As the store keeps it and the daemon sends it: JSON. */
const overTheWire = <T>(v: T): unknown => JSON.parse(JSON.stringify(v));

describe('replay reports the daemon builds', () => {
  const models: TestModel[] = [];
  let current: TestModel;
  let failing: TestModel;
  let slow: TestModel;
  const reports: ReplayReport[] = [];
  before(async () => {
    current = await startModel('v1');
    failing = await startModel('v2', { FAIL_MOD: 7, FLAKY_MOD: 5 });
    slow = await startModel('v3', { DELAY_MS: 300, SLOW_MOD: 9 });
    models.push(current, failing, slow);
    const base = { concurrency: 4, pipelineDir: tmpdir() };
    // Regressions with both answers and retries, flaky failures, every kind of built-in check.
    reports.push(
      await runReplay({
        ...base,
        requests: requestsUpTo(60),
        current,
        candidate: failing,
        timeoutMs: 5_000,
        checks: [
          { latency: { quantile: 0.99, max_ratio: 1.5 } },
          { distribution: { path: '$.y', metric: 'psi', max: 0.2 } },
          { max_abs_diff: { path: '$.y', max: 0 } },
        ],
      }),
    );
    // Timeouts (an answer with an error and no status), against the captured statuses (no current model).
    reports.push(
      await runReplay({
        ...base,
        requests: requestsUpTo(20),
        current: null,
        candidate: slow,
        timeoutMs: 100,
        checks: [{ latency: { quantile: 0.5, max_ratio: 2 } }],
      }),
    );
    // Cancelled before it started.
    reports.push(
      await runReplay({
        ...base,
        requests: requestsUpTo(5),
        current,
        candidate: failing,
        timeoutMs: 5_000,
        checks: [],
        signal: AbortSignal.abort(),
      }),
    );
  });
  after(async () => {
    await Promise.all(models.map((m) => m.stop()));
  });

  it('parse back to themselves: regressions, timeouts, skipped and failed checks, a cancel', () => {
    const [regressed, timedOut, cancelled] = reports as [ReplayReport, ReplayReport, ReplayReport];
    assert.ok(
      regressed.regressions.samples.length > 0 && regressed.flaky > 0 && regressed.checks.length === 3,
      JSON.stringify(regressed.checks),
    );
    assert.ok(
      timedOut.regressions.samples.some((s) => s.candidate.status === null && s.candidate.error),
      'a timed-out answer',
    );
    assert.ok(
      timedOut.checks.some((c) => c.skipped),
      'a latency ratio without a current model is skipped',
    );
    assert.equal(cancelled.cancelled, true);
    for (const report of reports) assert.deepEqual(replayReport.parse(overTheWire(report)), overTheWire(report));
  });

  it('reach a client inside the rollout view as they were stored, a skipped group beside them', () => {
    const report: ReplayGateReport = { london: reports[0]!, paris: { skipped: 'no captured traffic for paris in the last 1 day' } };
    const outcomes: GateOutcomes = {
      replay: {
        passed: false,
        summary: 'london: 8 of 60 requests fail',
        report,
        observed: { regressions: 8 },
        threshold: { regressions: 0 },
        sample: { requests: 60 },
      },
    };
    const sent: RolloutView = { ...rollout({ phase: 'blocked' }), gates: gateViewsOf(outcomes) };
    const read = rolloutView.parse(overTheWire(sent));
    assert.deepEqual(read.gates, { replay: { passed: false, skipped: false, summary: 'london: 8 of 60 requests fail', report } });
    assert.deepEqual(overTheWire(read), overTheWire(sent), 'the same JSON: mlp status --json prints it so');
  });
});

describe('data-check reports the daemon builds', () => {
  it('parse back to themselves: failures with samples, observed values, a check that could not run', async () => {
    const fixtures = join(import.meta.dirname, '../fixtures/gx');
    const dir = mkdtempSync(join(tmpdir(), 'mlp-reports-'));
    mkdirSync(join(dir, 'data'));
    copyFileSync(join(fixtures, 'people.suite.json'), join(dir, 'people.suite.json'));
    copyFileSync(join(fixtures, 'people.csv'), join(dir, 'data', 'people.csv'));
    const reports: DataCheckReport[] = await runDataChecks({
      checks: [
        { suite: 'people.suite.json', data: 'data/people.csv', engine: 'native' },
        { suite: 'people.suite.json', data: 'data/missing.csv', engine: 'native' },
      ],
      pipelineDir: dir,
      repoRoot: dir,
      warehouses: {},
    });
    const [people, missing] = reports as [DataCheckReport, DataCheckReport];
    assert.ok(
      people.failed.some((f) => f.sample?.length) && people.failed.some((f) => 'observed' in f),
      JSON.stringify(people.failed).slice(0, 500),
    );
    assert.ok(missing.error, 'a missing data file is a check that could not run');
    assert.deepEqual(dataChecksGateReport.parse(overTheWire(reports)), overTheWire(reports));
  });
});

describe('decisions the state machine records', () => {
  const policy: RolloutPolicy = {
    strategy: 'gradual',
    initialTraffic: 0,
    stepPercent: 50,
    stepIntervalMs: 1000,
    errorRateAbove: 0.05,
    minRequests: 1,
    latencyP99AboveMs: 800,
  };
  it('parse back to themselves, every rule and verdict a closed one', () => {
    let r: Parameters<typeof step>[0] = rolloutOf();
    const events: RolloutEvent[] = [
      { type: 'candidates_live' },
      {
        type: 'gate_done',
        gate: 'data_checks',
        outcome: { passed: true, summary: '1 suite passed', report: [], observed: 0, threshold: 0 },
      },
      {
        type: 'gate_done',
        gate: 'integration_tests',
        outcome: { passed: true, skipped: true, summary: 'no integration tests configured' },
      },
      { type: 'gate_done', gate: 'replay', outcome: { passed: true, summary: 'no regressions', report: {} } },
      { type: 'command', command: 'pause', actor: 'ana' },
      { type: 'command', command: 'resume', actor: 'ana' },
      { type: 'watch', sample: { group: 'london', window: '60s', requests: 100, errors: 30, errorRate: 0.3, p99Ms: 12 } },
    ];
    const recorded = events.flatMap((ev, i) => {
      const result = step(r, ev, 10 * (i + 1), policy);
      r = result.next;
      return result.decisions.map((d) => ({ at: 10 * (i + 1), ...d }));
    });
    assert.deepEqual(new Set(recorded.map((d) => d.verdict)), new Set(['advance', 'skip', 'hold', 'resume', 'rollback']));
    for (const d of recorded) assert.deepEqual(decision.parse(overTheWire(d)), overTheWire(d));
  });
});

describe('a report this client cannot read', () => {
  // A rollout stored by an older mlpd: its replay report had another shape.
  const old = { london: { verdict: 'fail', failures: [{ request: '{"x":7}' }] } };
  const message = () => {
    const p = pipeline('pricing', {
      rollout: rollout({
        phase: 'blocked',
        gates: {
          data_checks: { passed: true, skipped: false, summary: '1 suite passed', report: [] },
          replay: { passed: false, skipped: false, summary: 'london: 1 regression', report: null },
        },
      }),
    });
    const json = overTheWire(fullSnapshot([p])) as { pipelines: [{ rollout: { gates: { replay: { report: unknown } } } }] };
    json.pipelines[0].rollout.gates.replay.report = old;
    return json;
  };

  it('arrives as not readable, with what did not fit; the rest of the message is read', () => {
    const parsed = serverMessage.safeParse(message());
    assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
    assert.equal(parsed.data.type, 'full_snapshot');
    const gates = parsed.data.type === 'full_snapshot' ? parsed.data.pipelines[0]!.rollout!.gates : {};
    assert.deepEqual(gates.data_checks?.report, []);
    const report = gates.replay?.report;
    assert.ok(report instanceof UnreadableReport);
    assert.match(report.problem, /^london\.requested: /);
    assert.equal(gates.replay?.summary, 'london: 1 regression');
  });

  it('is printed by mlp status --json as it came', () => {
    const parsed = serverMessage.parse(message());
    assert.deepEqual(overTheWire(parsed), message());
  });

  it('is not how decisions are read: rules and verdicts are a closed set, a new one is a protocol change', () => {
    const future = message() as unknown as { pipelines: [{ rollout: { decisions: { rule: string }[] } }] };
    future.pipelines[0].rollout.decisions[0]!.rule = 'moon_phase';
    assert.equal(serverMessage.safeParse(future).success, false);
  });
});
