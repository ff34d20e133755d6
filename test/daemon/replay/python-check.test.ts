/**
 * `python: file.py:function` replay checks: a real Python subprocess in the pipeline folder, fed the
 * replay's records (docs/rollouts.md, "Python checks"), over real model servers.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runReplay, type ReplayOptions } from '../../../daemon/replay/run.js';
import { requestsUpTo, startModel, type TestModel } from './helpers.js';

const CHECKS_PY = `
import time
from helpers import negative

def shape(records):
    first = sorted(records, key=lambda r: r["request"]["body"]["x"])[0]
    return {
        "passed": True,
        "observed": {
            "count": len(records),
            "keys": sorted(first.keys()),
            "first": {k: first[k] for k in ("inferenceId", "request", "capturedStatus", "outcome", "retry")},
            "current": {k: first["current"][k] for k in ("status", "body", "encoding", "contentType", "error")},
            "latency_is_number": isinstance(first["candidate"]["latencyMs"], float),
            "outcomes": sorted(set(r["outcome"] for r in records)),
            "regression": next(r for r in records if r["outcome"] == "regression"),
        },
    }

def no_negative(records):
    bad = [r for r in records if r["candidate"]["status"] == 200 and negative(r["candidate"]["body"]["y"])]
    if bad:
        return {"passed": False, "reason": "%d predictions are negative" % len(bad), "observed": len(bad)}
    return {"passed": True, "reason": "no negative predictions", "observed": 0}

def all_fine(records):
    return None

def returns_false(records):
    return False

def says_why(records):
    return "the candidate is worse on Mondays"

def scale(y):
    raise ValueError("cannot scale %r" % y)

def boom(records):
    return scale(records[0]["candidate"]["body"]["y"])

def slow(records):
    time.sleep(30)

def odd_answer(records):
    return 42

def passed_as_text(records):
    return {"passed": "false", "reason": "3 predictions are negative"}

def passed_as_number(records):
    return {"passed": 1}

def passed_missing_value(records):
    return {"passed": None}

def passed_by_numpy(records):
    import numpy
    return {"passed": numpy.float64(0.1) < 0.2, "observed": numpy.float64(0.1)}

def noisy(records):
    print("looked at", len(records), "records")
    return False
`;

describe('python checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-replay-python-'));
  let v1: TestModel;
  let v2: TestModel;
  before(async () => {
    mkdirSync(join(dir, 'checks'));
    writeFileSync(join(dir, 'checks', 'replay.py'), CHECKS_PY);
    writeFileSync(join(dir, 'checks', 'helpers.py'), 'def negative(y):\n    return y < 0\n');
    writeFileSync(join(dir, 'checks', 'broken.py'), 'def f(records:\n    return True\n');
    v1 = await startModel('v1');
    // y = x − 3 on the candidate: negative for x = 1, 2; and a regression on x = 5, 10.
    v2 = await startModel('v2', { OFFSET: -3, FAIL_MOD: 5 });
  });
  after(async () => {
    await Promise.all([v1?.stop(), v2?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  const judge = async (spec: string, extra: Partial<ReplayOptions> = {}) => {
    const report = await runReplay({
      requests: requestsUpTo(10),
      current: v1,
      candidate: v2,
      concurrency: 4,
      timeoutMs: 5_000,
      checks: [{ python: spec }],
      pipelineDir: dir,
      ...extra,
    });
    assert.equal(report.checks.length, 1);
    return report.checks[0]!;
  };

  it('gets every request with both answers, decoded, as one list', async () => {
    const c = await judge('checks/replay.py:shape');
    assert.equal(c.passed, true);
    assert.equal(c.rule, 'python checks/replay.py:shape');
    const o = c.observed as Record<string, unknown>;
    assert.equal(o.count, 10);
    assert.deepEqual(o.keys, ['at', 'candidate', 'capturedStatus', 'current', 'inferenceId', 'outcome', 'request', 'retry']);
    assert.deepEqual(o.first, {
      inferenceId: 'req-1',
      request: { contentType: 'application/json', body: { x: 1 }, encoding: 'json' },
      capturedStatus: 200,
      outcome: 'ok',
      retry: null,
    });
    assert.deepEqual(o.current, {
      status: 200,
      body: { y: 1, label: 'high' },
      encoding: 'json',
      contentType: 'application/json',
      error: null,
    });
    assert.equal(o.latency_is_number, true);
    assert.deepEqual(o.outcomes, ['ok', 'regression']);
    const r = o.regression as {
      candidate: { status: number; body: unknown };
      retry: { candidate: { status: number }; current: { status: number } };
    };
    assert.equal(r.candidate.status, 500);
    assert.deepEqual([r.retry.candidate.status, r.retry.current.status], [500, 200]);
  });

  it('passes on True or None and fails on a dict saying so, with its reason and figure', async () => {
    assert.equal((await judge('checks/replay.py:all_fine')).passed, true);
    const c = await judge('checks/replay.py:no_negative');
    assert.deepEqual(c, {
      kind: 'python',
      rule: 'python checks/replay.py:no_negative',
      observed: 2,
      threshold: null,
      passed: false,
      detail: '2 predictions are negative',
    });
  });

  it('fails on False or a string, and blocks the replay', async () => {
    const f = await judge('checks/replay.py:returns_false');
    assert.deepEqual([f.passed, f.detail], [false, 'the function returned False']);
    const report = await runReplay({
      requests: requestsUpTo(4),
      current: v1,
      candidate: { ...v2, name: 'v2' },
      concurrency: 2,
      timeoutMs: 5_000,
      checks: [{ python: 'checks/replay.py:says_why' }],
      pipelineDir: dir,
    });
    assert.equal(report.verdict, 'fail');
    assert.equal(report.reason, 'check failed: python checks/replay.py:says_why (the candidate is worse on Mondays)');
  });

  it('shows an exception with its traceback, in the check file', async () => {
    const c = await judge('checks/replay.py:boom');
    assert.equal(c.passed, false);
    const lines = c.detail.split('\n');
    assert.match(lines[0]!, /^checks\/replay\.py:boom raised ValueError: cannot scale -?\d+$/);
    assert.equal(lines[1], 'Traceback (most recent call last):');
    assert.match(c.detail, /File ".*checks\/replay\.py", line \d+, in boom\n/);
    assert.match(c.detail, /File ".*checks\/replay\.py", line \d+, in scale\n\s+raise ValueError/);
    assert.doesNotMatch(c.detail, /<string>|importlib/, 'the runner itself is not in the traceback');
  });

  it('stops a check that runs too long', async () => {
    const started = performance.now();
    const c = await judge('checks/replay.py:slow', { pythonTimeoutMs: 500 });
    assert.ok(performance.now() - started < 5_000);
    assert.deepEqual([c.passed, c.detail], [false, 'checks/replay.py:slow did not finish within 0.5 s: stopped']);
  });

  it('says what is missing: the function, the file, the interpreter', async () => {
    const fn = await judge('checks/replay.py:nope');
    assert.equal(fn.passed, false);
    assert.equal(
      fn.detail,
      'checks/replay.py has no function nope (it has: all_fine, boom, no_negative, noisy, odd_answer, passed_as_number, passed_as_text, passed_by_numpy, passed_missing_value, returns_false, says_why, scale, shape, slow)',
    );
    const file = await judge('checks/missing.py:f');
    assert.equal(file.detail, `checks/missing.py: no such file in ${dir}`);
    const python = await judge('checks/replay.py:all_fine', { python: join(dir, 'no-such-python') });
    assert.equal(python.detail, `cannot run ${join(dir, 'no-such-python')}: not found (set the interpreter for python checks)`);
  });

  it('reports a file that does not import, and an answer it cannot read', async () => {
    const broken = await judge('checks/broken.py:f');
    assert.equal(broken.passed, false);
    assert.match(broken.detail, /^checks\/broken\.py could not be imported: SyntaxError: /);
    const odd = await judge('checks/replay.py:odd_answer');
    assert.equal(odd.detail, "the function returned 42: expected True or None (pass), False or a string (fail), or a dict with 'passed'");
  });

  it('fails a dict whose "passed" is not a boolean, saying what it returned', async () => {
    const text = await judge('checks/replay.py:passed_as_text');
    assert.equal(text.passed, false);
    assert.equal(
      text.detail,
      'checks/replay.py:passed_as_text returned {"passed": "false", "reason": "3 predictions are negative"}: "passed" must be true or false',
    );
    const number = await judge('checks/replay.py:passed_as_number');
    assert.equal(number.passed, false);
    assert.equal(number.detail, 'checks/replay.py:passed_as_number returned {"passed": 1}: "passed" must be true or false');
    const none = await judge('checks/replay.py:passed_missing_value');
    assert.equal(none.passed, false);
    assert.equal(none.detail, 'checks/replay.py:passed_missing_value returned {"passed": null}: "passed" must be true or false');
  });

  const hasNumpy = spawnSync('python3', ['-c', 'import numpy']).status === 0;
  it('takes a numpy comparison as the boolean it is', { skip: hasNumpy ? false : 'python3 has no numpy' }, async () => {
    const c = await judge('checks/replay.py:passed_by_numpy');
    assert.deepEqual([c.passed, c.observed], [true, 0.1]);
  });

  it("keeps the function's own output for the report", async () => {
    const c = await judge('checks/replay.py:noisy');
    assert.equal(c.detail, 'the function returned False\noutput:\nlooked at 10 records');
  });
});
