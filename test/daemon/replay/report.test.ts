/** How a replay report words its verdict and shows bodies. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bodyPreview,
  PREVIEW_BYTES,
  quantileLabel,
  verdictOf,
  type CheckResult,
  type RegressionSample,
} from '../../../daemon/replay/report.js';

const sample: RegressionSample = {
  inferenceId: 'req-7',
  at: 0,
  request: { contentType: 'application/json', body: '{"x":7}' },
  capturedStatus: 200,
  current: { status: 200, body: '{"y":7}', latencyMs: 1 },
  candidate: { status: 500, body: '{"error":"cannot score x=7"}', latencyMs: 1 },
  retry: {
    current: { status: 200, body: '{"y":7}', latencyMs: 1 },
    candidate: { status: 500, body: '{"error":"cannot score x=7"}', latencyMs: 1 },
  },
};
const names = { current: 'v2', candidate: 'v3' };
const base = {
  sent: 10_000,
  comparable: 10_000,
  regressions: 0,
  flaky: 0,
  firstRegression: null,
  checks: [],
  cancelled: false,
  names,
  baseline: 'current' as const,
};

describe('verdict', () => {
  it('names the regressions, their share and the first failure', () => {
    const v = verdictOf({ ...base, comparable: 9_990, regressions: 3, firstRegression: sample });
    assert.equal(v.verdict, 'fail');
    assert.equal(v.reason, '3 of 9,990 requests that worked on v2 fail on v3 (first: HTTP 500 {"error":"cannot score x=7"})');
  });

  it('names each failed check with the first line of its detail; skipped checks do not fail', () => {
    const checks: CheckResult[] = [
      {
        kind: 'latency',
        rule: 'p99 latency ≤ 1.5 × current',
        observed: 90,
        threshold: 60,
        passed: false,
        detail: 'candidate p99 90 ms, current p99 40 ms',
      },
      {
        kind: 'python',
        rule: 'python checks/x.py:f',
        observed: null,
        threshold: null,
        passed: false,
        detail: 'checks/x.py:f raised ValueError: boom\nTraceback ...',
      },
      {
        kind: 'max_abs_diff',
        rule: '|candidate − current| at $.y ≤ 1',
        observed: null,
        threshold: 1,
        passed: true,
        skipped: true,
        detail: 'no current model',
      },
    ];
    const v = verdictOf({ ...base, checks });
    assert.equal(v.verdict, 'fail');
    assert.equal(
      v.reason,
      'check failed: p99 latency ≤ 1.5 × current (candidate p99 90 ms, current p99 40 ms); check failed: python checks/x.py:f (checks/x.py:f raised ValueError: boom …)',
    );
  });

  it('passes saying what was ignored', () => {
    const passed: CheckResult = { kind: 'latency', rule: 'p99 latency ≤ 800 ms', observed: 3, threshold: 800, passed: true, detail: '' };
    const skipped: CheckResult = { ...passed, kind: 'distribution', skipped: true };
    assert.deepEqual(verdictOf({ ...base, flaky: 2, checks: [passed, skipped] }), {
      verdict: 'pass',
      reason: '10,000 requests replayed on v3: no regressions (2 flaky failures ignored; 1 of 2 checks passed, 1 skipped)',
    });
  });

  it('gives no verdict on a cancelled replay', () => {
    assert.deepEqual(verdictOf({ ...base, sent: 120, cancelled: true }), {
      verdict: 'fail',
      reason: 'replay cancelled after 120 requests; no verdict',
    });
  });
});

describe('previews', () => {
  it('keeps short text, cuts long text saying the size, shows binary as base64', () => {
    assert.equal(bodyPreview(Buffer.from('{"x":1}')), '{"x":1}');
    const long = bodyPreview(Buffer.from('a'.repeat(10_000)));
    assert.ok(long.startsWith('a'.repeat(PREVIEW_BYTES) + '… (10,000 bytes)'));
    assert.equal(bodyPreview(Buffer.from([0xff, 0x00, 0x01])), '<3 bytes of binary, base64: /wAB>');
  });

  it('labels quantiles', () => {
    assert.equal(quantileLabel(0.99), 'p99');
    assert.equal(quantileLabel(0.5), 'p50');
    assert.equal(quantileLabel(0.999), 'p99.9');
  });
});
