/** Pipelines as the daemon sends them, in the states the TUI must show. */
import { summaryOf } from '../../shared/fleet-summary.js';
import {
  pipelineView,
  type DecisionView,
  type FullSnapshot,
  type HistoryPoint,
  type LatencyView,
  type PipelineView,
  type RolloutView,
  type Snapshot,
  type VariantView,
} from '../../shared/protocol.js';
import type { DataCheckReport } from '../../shared/reports/data-checks.js';
import type { AnswerPreview, RegressionSample, ReplayGateReport } from '../../shared/reports/replay.js';

export const NOW = Date.UTC(2025, 10, 20, 12, 0, 0);

export function metrics(requests: number, errors: number): NonNullable<VariantView['metrics']> {
  const m = {
    requests,
    errors,
    errorRate: requests ? errors / requests : 0,
    requestsPerSecond: requests / 60,
    p50Ms: 3,
    p95Ms: 8,
    p99Ms: 12,
  };
  return { total: { requests, errors }, window: m, recent: m };
}

/** No traffic yet, never trained: what a pipeline that was just added shows. */
export function performance(over: Partial<PipelineView['performance']> = {}): PipelineView['performance'] {
  return {
    latency: null,
    history: { intervalMs: 5_000, points: [] },
    training: null,
    serving: null,
    prices: { asOf: '2026-11-01', region: 'us-east-1', source: 'built-in' },
    ...over,
  };
}

/** The last minute of live traffic, all groups and variants pooled. */
export function latency(over: Partial<LatencyView> = {}): LatencyView {
  return { requests: 1_000, errors: 5, errorRate: 0.005, p50Ms: 3, p99Ms: 12, windowMs: 60_000, ...over };
}

type RoleSample = NonNullable<HistoryPoint['current']>;

export function roleSample(requests: number, errors: number, p99Ms: number | null = 12, p50Ms: number | null = 3): RoleSample {
  return { requests, errors, p50Ms, p99Ms };
}

/** `n` history points 5 s apart ending at NOW; `at(i)` gives point i's roles (oldest first). */
export function history(n: number, at: (i: number) => Pick<HistoryPoint, 'current' | 'candidate'>): PipelineView['performance']['history'] {
  return { intervalMs: 5_000, points: Array.from({ length: n }, (_, i) => ({ at: NOW - (n - 1 - i) * 5_000, ...at(i) })) };
}

/** A train step that ran on SageMaker: two groups of 30 minutes each on ml.m5.xlarge. */
export const cloudTraining: NonNullable<PipelineView['performance']['training']> = {
  runId: 'r7',
  finishedAt: NOW - 3_600_000,
  durationMs: 34 * 60_000,
  computeMs: 62 * 60_000,
  executor: 'cloud',
  instanceType: 'ml.m5.xlarge',
  instanceHours: 1,
  usdPerHour: 0.23,
  estimatedUsd: 0.23,
};

/** Two model servers running here, priced as SageMaker ml.m5.large hosting: 2 × $0.115 an hour. */
export const serving: NonNullable<PipelineView['performance']['serving']> = {
  backend: 'local',
  instanceType: 'ml.m5.large',
  instances: 2,
  usdPerHour: 0.23,
  estimatedUsdPer30Days: 165.6,
};

export function variant(over: Partial<VariantView> = {}): VariantView {
  return {
    group: 'london',
    variant: 'v2',
    role: 'current',
    weight: 100,
    backend: 'local',
    state: 'live',
    port: 9001,
    restarts: 0,
    lastError: null,
    metrics: null,
    ...over,
  };
}

export function decision(over: Partial<DecisionView> = {}): DecisionView {
  return {
    at: NOW - 60_000,
    phase: 'shifting',
    rule: 'step',
    observed: 20,
    threshold: 100,
    sample: null,
    verdict: 'advance',
    reason: 'traffic 10% → 20%',
    ...over,
  };
}

export function rollout(over: Partial<RolloutView> = {}): RolloutView {
  return {
    id: 1,
    phase: 'shifting',
    candidateVersion: 'v3',
    currentVersion: 'v2',
    candidateWeight: 20,
    groups: [{ group: 'london', candidateVersion: 'v3', currentVersion: 'v2' }],
    pausedFrom: null,
    gates: {},
    startedAt: NOW - 600_000,
    updatedAt: NOW - 60_000,
    finishedAt: null,
    reason: null,
    decisions: [decision()],
    // As the daemon sends it: a next step only while shifting.
    nextStep: (over.phase ?? 'shifting') === 'shifting' ? { at: NOW + 120_000, weight: 30 } : null,
    ...over,
  };
}

export function pipeline(name: string, over: Partial<PipelineView> = {}): PipelineView {
  return {
    name,
    dir: name,
    schedule: '0 3 * * *',
    groups: ['london'],
    groupsError: null,
    current: { version: 'v2', groups: { london: 'v2' } },
    variants: [variant()],
    rollout: null,
    problems: [],
    configLoadedAt: NOW - 3_600_000,
    runs: [],
    performance: performance(),
    ...over,
  };
}

/** A rollout shifting at 20% with live metrics on both variants. */
export function shifting(name: string, weight = 20, candidateErrors = 3): PipelineView {
  return pipeline(name, {
    variants: [
      variant({ weight: 100 - weight, metrics: metrics(800, 1) }),
      variant({ variant: 'v3', role: 'candidate', weight, metrics: metrics(200, candidateErrors) }),
    ],
    rollout: rollout({ candidateWeight: weight }),
  });
}

export const replayReport: ReplayGateReport = {
  london: {
    requested: 100,
    sent: 100,
    baseline: 'current',
    candidateErrors: 2,
    currentErrors: 0,
    capturedErrors: 0,
    flaky: 0,
    regressions: {
      count: 2,
      samples: [
        sample(
          '{"x":7}',
          { status: 200, body: '{"y":7}', latencyMs: 3 },
          { status: 500, body: '{"error":"cannot score x=7"}', latencyMs: 2 },
        ),
        sample(
          '{"x":9}',
          { status: 200, body: '{"y":9}', latencyMs: 3 },
          { status: null, body: '', latencyMs: 30000, error: 'timeout after 30000 ms' },
        ),
      ],
    },
    checks: [{ kind: 'latency', rule: 'p99 latency ≤ 1.5 × current', observed: 6.2, threshold: 7.4, passed: true, detail: 'ok' }],
    latency: { current: { p50: 1.9, p95: 3.8, p99: 4.93 }, candidate: { p50: 1.7, p95: 3.9, p99: 6.2 } },
    durationMs: 1310,
    cancelled: false,
    verdict: 'fail',
    reason: '2 of 100 requests that worked on v2 fail on v3',
  },
};

/** A regression as the replay records it: the re-sent answers the same as the first. */
function sample(body: string, current: AnswerPreview, candidate: AnswerPreview): RegressionSample {
  return {
    inferenceId: null,
    at: NOW - 3_600_000,
    request: { contentType: 'application/json', body },
    capturedStatus: 200,
    current,
    candidate,
    retry: { current, candidate },
  };
}

/** Blocked by the replay gate, with two failing requests. */
export function blockedByReplay(name: string): PipelineView {
  return pipeline(name, {
    variants: [variant()],
    rollout: rollout({
      phase: 'blocked',
      candidateWeight: 0,
      reason: 'replay: 2 of 100 requests that worked on v2 fail on v3',
      finishedAt: NOW - 30_000,
      gates: {
        data_checks: { passed: true, skipped: false, summary: '3 suites passed', report: null },
        integration_tests: { passed: true, skipped: true, summary: 'not configured', report: null },
        replay: { passed: false, skipped: false, summary: '2 regressions in london', report: replayReport },
      },
      decisions: [
        decision({
          at: NOW - 120_000,
          phase: 'checking_data',
          rule: 'data_checks',
          verdict: 'advance',
          reason: '3 suites passed',
          observed: null,
          threshold: null,
        }),
        decision({
          at: NOW - 30_000,
          phase: 'replaying',
          rule: 'replay',
          verdict: 'block',
          reason: '2 of 100 requests that worked on v2 fail on v3',
          observed: 2,
          threshold: 0,
        }),
      ],
    }),
  });
}

/** The data-checks gate's report as the daemon stores it: one report per suite (docs/rollouts.md, "Data checks"). */
export const dataChecksReport: DataCheckReport[] = [
  {
    suite: 'suites/orders.json',
    data: 'data/latest.csv',
    engine: 'native',
    success: false,
    statistics: { evaluated_expectations: 3, successful_expectations: 1, unsuccessful_expectations: 2, success_percent: 33.3 },
    results: [],
    failed: [
      {
        expectation: { type: 'expect_column_values_to_be_between', kwargs: { column: 'demand', min_value: 0, max_value: 10_000 } },
        unexpected_count: 2,
        unexpected_percent: 50,
        element_count: 4,
        sample: [-4, 99_999],
      },
      {
        expectation: { type: 'expect_column_values_to_not_be_null', kwargs: { column: 'city' } },
        unexpected_count: 1,
        unexpected_percent: 25,
        element_count: 4,
        sample: [],
      },
    ],
    summary:
      '2 of 3 expectations failed: expect_column_values_to_be_between(demand, 0..10000): 2 of 4 values (50%) outside, e.g. -4, 99999; expect_column_values_to_not_be_null(city): 1 of 4 values (25%) null',
    durationMs: 12,
  },
  {
    suite: 'suites/cities.json',
    data: 'sql: SELECT * FROM orders WHERE city = :group',
    engine: 'great_expectations',
    success: false,
    statistics: { evaluated_expectations: 2, successful_expectations: 0, unsuccessful_expectations: 2, success_percent: 0 },
    results: [],
    failed: [
      {
        expectation: { type: 'expect_column_values_to_be_in_set', kwargs: { column: 'city', value_set: ['berlin', 'london'] } },
        unexpected_count: 3,
        unexpected_percent: 0.3,
        element_count: 1_000,
        sample: ['oslo', 'rome', 'oslo'],
      },
      { expectation: { type: 'expect_table_row_count_to_be_between', kwargs: { min_value: 100 } }, observed: 12 },
    ],
    summary: '2 of 2 expectations failed',
    durationMs: 340,
  },
  {
    suite: 'suites/returns.json',
    data: 'data/returns.csv',
    engine: 'native',
    success: false,
    statistics: { evaluated_expectations: 0, successful_expectations: 0, unsuccessful_expectations: 0, success_percent: null },
    results: [],
    failed: [],
    error: 'data file data/returns.csv does not exist',
    summary: 'could not check data/returns.csv against suites/returns.json: data file data/returns.csv does not exist',
    durationMs: 1,
  },
];

/** Blocked by its data checks: five failures over three suites. */
export function blockedByDataChecks(name: string): PipelineView {
  return pipeline(name, {
    rollout: rollout({
      phase: 'blocked',
      candidateWeight: 0,
      nextStep: null,
      reason: 'data checks: 2 of 3 expectations failed',
      finishedAt: NOW - 30_000,
      gates: {
        data_checks: {
          passed: false,
          skipped: false,
          summary: dataChecksReport.map((r) => r.summary).join('; '),
          report: dataChecksReport,
        },
      },
      decisions: [
        decision({
          at: NOW - 30_000,
          phase: 'checking_data',
          rule: 'data_checks',
          verdict: 'block',
          reason: '5 expectations failed',
          observed: 5,
          threshold: 0,
        }),
      ],
    }),
  });
}

/** What a client gets on connect: the pipelines' summaries. */
export function snapshot(pipelines: PipelineView[]): Snapshot {
  return { type: 'snapshot', at: NOW, repo: { root: '/repo', problems: [] }, pipelines: pipelines.map(summaryOf) };
}

/** What `mlp status` asks for: every pipeline's full view. */
export function fullSnapshot(pipelines: PipelineView[]): FullSnapshot {
  return { type: 'full_snapshot', id: null, at: NOW, repo: { root: '/repo', problems: [] }, pipelines };
}

/** Blocked by replay in a rollout an older mlpd stored: its report has a shape this client does not know, read as the client reads it. */
export function blockedByOldReplay(name: string): PipelineView {
  const sent = blockedByReplay(name);
  const json = JSON.parse(JSON.stringify(sent)) as { rollout: { gates: { replay: { report: unknown } } } };
  json.rollout.gates.replay.report = { london: { verdict: 'fail', failures: [{ request: '{"x":7}' }] } };
  return pipelineView.parse(json);
}
