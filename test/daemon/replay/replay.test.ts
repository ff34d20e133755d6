/**
 * The replay gate against real model server processes (model-server.mjs): the built-in rule with Diffy's
 * re-send, latency and output checks measured side by side, real Data Capture files, cancellation.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runReplay, type ReplayOptions, type ReplayProgress } from '../../../daemon/replay/run.js';
import { readCapture } from '../../../daemon/serving/capture/reader.js';
import { createCaptureWriter } from '../../../daemon/serving/capture/writer.js';
import type { ReplayCheck } from '../../../shared/config/schema.js';
import { requestsUpTo, startModel, type TestModel } from './helpers.js';

const models: TestModel[] = [];
async function model(name: string, env: Record<string, string | number> = {}): Promise<TestModel> {
  const m = await startModel(name, env);
  models.push(m);
  return m;
}
after(async () => {
  await Promise.all(models.map((m) => m.stop()));
});

const replay = (current: TestModel | null, candidate: TestModel, extra: Partial<ReplayOptions> = {}) =>
  runReplay({
    requests: requestsUpTo(100),
    current,
    candidate,
    concurrency: 8,
    timeoutMs: 5_000,
    checks: [],
    pipelineDir: tmpdir(),
    ...extra,
  });

describe('the built-in rule', () => {
  let v1: TestModel;
  before(async () => {
    v1 = await model('v1');
  });

  it('passes a candidate that answers everything the current model answers', async () => {
    const v2 = await model('v2');
    const progress: ReplayProgress[] = [];
    const report = await replay(v1, v2, { onProgress: (p) => progress.push(p) });
    assert.equal(report.verdict, 'pass');
    assert.equal(report.reason, '100 requests replayed on v2: no regressions');
    assert.equal(report.requested, 100);
    assert.equal(report.sent, 100);
    assert.equal(report.baseline, 'current');
    assert.equal(report.regressions.count, 0);
    assert.equal(report.candidateErrors + report.currentErrors + report.flaky, 0);
    assert.equal(report.cancelled, false);
    assert.ok(report.latency.candidate && report.latency.current);
    assert.ok(report.latency.candidate.p50 > 0 && report.latency.candidate.p50 <= report.latency.candidate.p99);
    assert.deepEqual(progress[0], { done: 0, total: 100, regressions: 0 });
    assert.deepEqual(progress.at(-1), { done: 100, total: 100, regressions: 0 });
    assert.ok(progress.length <= 4, `progress is throttled (${progress.length} calls)`);
    // Straight to the model servers, once each, over at most `concurrency` kept-alive connections.
    const stats = await v2.stats();
    assert.equal(stats.invocations, 100);
    assert.ok(stats.connections <= 8 + 1, `${stats.connections} connections (one is this stats request)`);
    // JSON all the way: the report goes into SQLite as it is.
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  });

  it('blocks a candidate that fails deterministically, listing the requests with both answers', async () => {
    const bad = await model('v2', { FAIL_MOD: 7 });
    const report = await replay(v1, bad, { requests: requestsUpTo(500) });
    const failing = Math.floor(500 / 7);
    assert.equal(report.verdict, 'fail');
    assert.equal(report.regressions.count, failing);
    assert.equal(report.candidateErrors, failing);
    assert.equal(report.flaky, 0);
    assert.equal(report.regressions.samples.length, 20, 'samples are capped');
    const s = report.regressions.samples[0]!;
    const n = JSON.parse(s.request.body).x as number;
    assert.equal(n % 7, 0);
    assert.equal(s.inferenceId, `req-${n}`);
    assert.deepEqual(s.request, { contentType: 'application/json', body: JSON.stringify({ x: n }) });
    assert.equal(s.capturedStatus, 200);
    assert.equal(s.current?.status, 200);
    assert.deepEqual(JSON.parse(s.current!.body), { y: n, label: n % 2 ? 'high' : 'low' });
    assert.equal(s.candidate.status, 500);
    assert.equal(s.candidate.body, JSON.stringify({ error: `cannot score x=${n}` }));
    assert.equal(s.retry.candidate.status, 500);
    assert.equal(s.retry.current?.status, 200);
    assert.equal(
      report.reason,
      `${failing} of 500 requests that worked on v1 fail on v2 (first: HTTP 500 {"error":"cannot score x=${n}"})`,
    );
    // Each failure was sent a second time to both.
    assert.equal((await bad.stats()).invocations, 500 + failing);
  });

  it('does not count a failure that does not repeat (flaky), but counts it', async () => {
    const flaky = await model('v2', { FLAKY_MOD: 10 });
    const report = await replay(v1, flaky);
    assert.equal(report.verdict, 'pass');
    assert.equal(report.flaky, 10);
    assert.equal(report.candidateErrors, 10);
    assert.equal(report.regressions.count, 0);
    assert.match(report.reason, /no regressions \(10 flaky failures ignored\)/);
  });

  it('does not count a candidate failure when the current model fails the re-send too (noise)', async () => {
    const current = await model('v1', { FAIL_AGAIN_MOD: 5 });
    const bad = await model('v2', { FAIL_MOD: 5 });
    const report = await replay(current, bad);
    assert.equal(report.verdict, 'pass');
    assert.equal(report.flaky, 20);
    assert.equal(report.regressions.count, 0);
  });

  it('ignores requests the current model fails, and counts them', async () => {
    const current = await model('v1', { FAIL_MOD: 4 });
    const candidate = await model('v2', { FAIL_MOD: 8 });
    const report = await replay(current, candidate);
    assert.equal(report.verdict, 'pass');
    assert.equal(report.currentErrors, 25);
    assert.equal(report.candidateErrors, 12);
    assert.equal(report.regressions.count, 0);
  });

  it('notes requests whose live answer was an error, and replays them like the others', async () => {
    const v2 = await model('v2');
    const requests = requestsUpTo(10).map((r, i) => (i < 3 ? { ...r, status: 503 } : r));
    const report = await replay(v1, v2, { requests });
    assert.equal(report.capturedErrors, 3);
    assert.equal(report.verdict, 'pass');
  });

  it('counts a timeout as a failure', async () => {
    const slow = await model('v2', { SLOW_MOD: 2, DELAY_MS: 2_000 });
    const report = await replay(v1, slow, { requests: requestsUpTo(2), timeoutMs: 300 });
    assert.equal(report.regressions.count, 1);
    const s = report.regressions.samples[0]!;
    assert.deepEqual(
      [s.candidate.status, s.candidate.error, s.retry.candidate.error],
      [null, 'timeout after 300 ms', 'timeout after 300 ms'],
    );
    assert.ok(s.candidate.latencyMs >= 290, `latency ${s.candidate.latencyMs}`);
    assert.match(report.reason, /^1 of 2 requests that worked on v1 fail on v2 \(first: timeout after 300 ms\)$/);
  });

  it('counts a candidate that cannot be reached as failing every request', async () => {
    const gone = await model('v2');
    await gone.stop();
    const report = await replay(v1, gone, { requests: requestsUpTo(5) });
    assert.equal(report.regressions.count, 5);
    assert.match(
      report.regressions.samples[0]!.candidate.error ?? '',
      /connection refused by 127\.0\.0\.1:\d+ \(is the model server running\?\)/,
    );
    assert.equal(report.latency.candidate, null, 'instant connection failures are not latencies');
  });

  it('without a current model, holds the candidate to the status each request got when captured', async () => {
    const bad = await model('v2', { FAIL_MOD: 2 });
    // 1..10: the even ones fail on the candidate; 2 and 4 had failed live as well.
    const requests = requestsUpTo(10).map((r, i) => (i === 1 || i === 3 ? { ...r, status: 500 } : r));
    const checks: ReplayCheck[] = [
      { latency: { quantile: 0.99, max_ratio: 2 } },
      { latency: { quantile: 0.5, max_ms: 5_000 } },
      { max_abs_diff: { path: '$.y', max: 0 } },
    ];
    const report = await replay(null, { ...bad, name: 'v1' }, { requests, checks });
    assert.equal(report.baseline, 'capture');
    assert.equal(report.latency.current, null);
    assert.equal(report.capturedErrors, 2);
    assert.equal(report.regressions.count, 3);
    assert.equal(report.regressions.samples[0]!.current, null);
    assert.match(report.reason, /^3 of 8 requests that worked when captured fail on v1/);
    assert.deepEqual(
      report.checks.map((c) => [c.rule, c.passed, c.skipped ?? false]),
      [
        ['p99 latency ≤ 2 × current', true, true],
        ['p50 latency ≤ 5000 ms', true, false],
        ['|candidate − current| at $.y ≤ 0', true, true],
      ],
    );
  });

  it('passes (with nothing to say) when given no requests', async () => {
    const v2 = await model('v2');
    const report = await replay(v1, v2, { requests: [] });
    assert.deepEqual([report.verdict, report.sent, report.reason], ['pass', 0, '0 requests replayed on v2: no regressions']);
  });
});

describe('latency checks, side by side', () => {
  let fast: TestModel;
  let slow: TestModel;
  before(async () => {
    fast = await model('v1');
    slow = await model('v2', { DELAY_MS: 200 });
  });

  it('fails a candidate slower than the ratio allows, and passes an absolute bound it meets', async () => {
    const checks: ReplayCheck[] = [{ latency: { quantile: 0.9, max_ratio: 1.5 } }, { latency: { quantile: 0.95, max_ms: 2_000 } }];
    const report = await replay(fast, slow, { requests: requestsUpTo(80), checks });
    const [ratio, absolute] = report.checks;
    assert.equal(ratio!.rule, 'p90 latency ≤ 1.5 × current');
    assert.equal(ratio!.passed, false);
    assert.ok((ratio!.observed as number) >= 200, `observed ${ratio!.observed}`);
    assert.ok(ratio!.threshold! < 200, `threshold ${ratio!.threshold}`);
    assert.ok(report.latency.current!.p95 < report.latency.candidate!.p50);
    assert.match(ratio!.detail, /^candidate p90 [\d.]+ ms, current p90 [\d.]+ ms \([\d.]+×\), side by side over 80 requests$/);
    assert.equal(absolute!.rule, 'p95 latency ≤ 2000 ms');
    assert.equal(absolute!.passed, true);
    assert.equal(absolute!.threshold, 2000);
    assert.equal(report.verdict, 'fail');
    assert.match(report.reason, /^check failed: p90 latency ≤ 1\.5 × current \(candidate p90/);
  });

  it('fails an absolute bound the candidate misses and passes a ratio it meets', async () => {
    const checks: ReplayCheck[] = [{ latency: { quantile: 0.5, max_ms: 100 } }, { latency: { quantile: 0.5, max_ratio: 1.5 } }];
    const report = await replay(slow, slow, { requests: requestsUpTo(16), checks });
    assert.deepEqual(
      report.checks.map((c) => c.passed),
      [false, true],
    );
  });
});

describe('output checks', () => {
  let v1: TestModel;
  before(async () => {
    v1 = await model('v1');
  });
  const requests = requestsUpTo(1000);

  it('distribution: the same outputs pass every metric', async () => {
    const same = await model('v2');
    const checks: ReplayCheck[] = (['psi', 'ks', 'wasserstein', 'jensen_shannon'] as const).map((metric) => ({
      distribution: { path: metric === 'jensen_shannon' ? '$.label' : '$.y', metric, max: 0.01 },
    }));
    const report = await replay(v1, same, { requests, checks });
    assert.deepEqual(
      report.checks.map((c) => [c.rule, c.observed, c.passed]),
      [
        ['PSI of $.y ≤ 0.01', 0, true],
        ['KS distance of $.y ≤ 0.01', 0, true],
        ['Wasserstein-1 / σ(current) of $.y ≤ 0.01', 0, true],
        ['Jensen–Shannon distance of $.label ≤ 0.01', 0, true],
      ],
    );
    assert.equal(report.verdict, 'pass');
  });

  it('distribution: a shifted output fails, with the figure a person can check', async () => {
    // y = x + 100 over x = 1..1000: the CDFs are 100 apart, so KS = 0.1 and W1 = 100; σ(1..1000) = √((1000² − 1) / 12).
    const shifted = await model('v2', { OFFSET: 100, LABELS: 'low,high,mid' });
    const checks: ReplayCheck[] = [
      { distribution: { path: '$.y', metric: 'ks', max: 0.05 } },
      { distribution: { path: '$.y', metric: 'wasserstein', max: 0.1 } },
      { distribution: { path: '$.y', metric: 'psi', max: 0.1 } },
      { distribution: { path: '$.label', metric: 'jensen_shannon', max: 0.1 } },
    ];
    const report = await replay(v1, shifted, { requests, checks });
    const [ks, w, p, js] = report.checks;
    assert.equal(ks!.observed, 0.1);
    assert.equal(w!.observed, Number((100 / Math.sqrt((1000 ** 2 - 1) / 12)).toPrecision(4)));
    // The top decile of 1..1000 takes 20% of the shifted values, the bottom one none (0.0001).
    const expectedPsi = 0.1 * Math.log(0.2 / 0.1) + (0.0001 - 0.1) * Math.log(0.0001 / 0.1);
    assert.equal(p!.observed, Number(expectedPsi.toPrecision(4)));
    assert.ok((js!.observed as number) > 0.1);
    assert.match(js!.detail, /low 50% → 33\.\d+%/);
    assert.match(ks!.detail, /^1000 current and 1000 candidate numbers; mean 500\.5 → 600\.5$/);
    assert.ok(report.checks.every((c) => !c.passed));
    assert.equal(report.verdict, 'fail');
  });

  it('distribution: a path with no numbers fails and says why', async () => {
    const same = await model('v2');
    const checks: ReplayCheck[] = [
      { distribution: { path: '$.label', metric: 'psi', max: 0.2 } },
      { distribution: { path: '$.nothing', metric: 'ks', max: 0.2 } },
      { distribution: { path: '$..y', metric: 'ks', max: 0.2 } },
    ];
    const report = await replay(v1, same, { requests: requestsUpTo(10), checks });
    assert.deepEqual(
      report.checks.map((c) => [c.passed, c.detail]),
      [
        [
          false,
          "no numbers at $.label in the current model's answers (20 values there are not numbers: for categories use metric jensen_shannon)",
        ],
        [false, "no numbers at $.nothing in the current model's answers"],
        [false, "JSONPath '$..y': recursive descent '..' is not supported at character 2 (supported: $.a.b, $.a[0], $.a[*], $['a b'])"],
      ],
    );
  });

  it('max_abs_diff: the largest difference over the requests, against the bound', async () => {
    // y = 2x against y = x: the difference is x, largest (1000) on the last request.
    const scaled = await model('v2', { SCALE: 2 });
    const checks: ReplayCheck[] = [{ max_abs_diff: { path: '$.y', max: 999.5 } }, { max_abs_diff: { path: '$.y', max: 1000 } }];
    const report = await replay(v1, scaled, { requests, checks });
    const [tight, loose] = report.checks;
    assert.equal(tight!.rule, '|candidate − current| at $.y ≤ 999.5');
    assert.equal(tight!.observed, 1000);
    assert.equal(tight!.passed, false);
    assert.equal(tight!.detail, 'largest on request req-1000: current 1000, candidate 2000; 1000 values compared');
    assert.equal(loose!.passed, true);
  });

  it('max_abs_diff: a candidate missing the field fails', async () => {
    const same = await model('v2');
    const report = await replay(v1, same, { requests: requestsUpTo(5), checks: [{ max_abs_diff: { path: '$.label', max: 1 } }] });
    assert.equal(report.checks[0]!.passed, false);
    assert.equal(report.checks[0]!.detail, "no numbers at $.label in the current model's answers");
  });
});

describe('reading real Data Capture files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-replay-capture-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('replays what the capture writer wrote, newest first, up to the limit', async () => {
    const writer = createCaptureWriter({ dir, retention: { days: 30, maxBytes: 1e9 } });
    const now = Date.now();
    for (let n = 1; n <= 300; n++) {
      writer.record({
        pipeline: 'demand-forecast',
        group: 'london',
        variant: n % 10 ? 'v1' : 'v0',
        at: now - 300_000 + n * 1000,
        latencyMs: 2,
        status: n === 300 ? 500 : 200,
        requestBody: Buffer.from(JSON.stringify({ x: n })),
        requestContentType: 'application/json',
        responseBody: Buffer.from(JSON.stringify({ y: n })),
        responseContentType: 'application/json',
        inferenceId: `live-${n}`,
      });
    }
    await writer.close();
    const v1 = await model('v1');
    const bad = await model('v2', { FAIL_MOD: 50 });
    const report = await replay(v1, bad, {
      requests: readCapture({ dir, pipeline: 'demand-forecast', group: 'london', sinceMs: now - 86_400_000, limit: 200 }),
    });
    // The 200 newest are 101..300: 150, 200, 250 and 300 fail on the candidate.
    assert.equal(report.requested, 200);
    assert.equal(report.sent, 200);
    assert.equal(report.capturedErrors, 1);
    assert.equal(report.regressions.count, 4);
    assert.deepEqual(report.regressions.samples.map((s) => s.inferenceId).sort(), ['live-150', 'live-200', 'live-250', 'live-300']);
    assert.equal((await bad.stats()).invocations, 204);
  });
});

describe('cancellation', () => {
  it('stops sending, abandons what is in flight and resolves with what it has, marked cancelled', async () => {
    const v1 = await model('v1', { DELAY_MS: 20 });
    const v2 = await model('v2', { DELAY_MS: 20 });
    const stop = new AbortController();
    let done = 0;
    const started = performance.now();
    const pending = replay(v1, v2, {
      requests: requestsUpTo(2000),
      concurrency: 4,
      checks: [{ latency: { quantile: 0.99, max_ratio: 1.5 } }],
      signal: stop.signal,
      onProgress: (p) => {
        done = p.done;
      },
    });
    setTimeout(() => stop.abort(), 300);
    const report = await pending;
    assert.ok(performance.now() - started < 2_000, 'it stopped soon after the abort');
    assert.equal(report.cancelled, true);
    assert.equal(report.verdict, 'fail');
    assert.deepEqual(report.checks, []);
    assert.ok(report.sent > 0 && report.sent < 2000, `sent ${report.sent}`);
    assert.ok(report.requested - report.sent <= 4, 'only the requests in flight were cut off');
    assert.equal(done, report.sent);
    assert.equal(report.reason, `replay cancelled after ${report.sent} requests; no verdict`);
    const before = (await v2.stats()).invocations;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await v2.stats()).invocations, before, 'nothing is sent after the cancel');
    assert.ok(before <= report.requested);
  });

  it('resolves at once for a signal already aborted', async () => {
    const v1 = await model('v1');
    const report = await replay(v1, v1, { signal: AbortSignal.abort() });
    assert.deepEqual([report.cancelled, report.requested, report.sent], [true, 0, 0]);
    assert.equal((await v1.stats()).invocations, 0);
  });
});
