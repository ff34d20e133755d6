/**
 * The replay gate (docs/rollouts.md, "Replay"): captured live requests
 * are sent to the candidate and the current model side by side, straight to their `POST /invocations`,
 * and judged by the built-in rule (a request the current model answered without error must not error on
 * the candidate, confirmed by a re-send to both) and the pipeline's replay checks.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReplayCheck } from '../../shared/config/schema.js';
import type { CapturedRequest } from '../serving/capture/format.js';
import { decodeBody, parseJsonAnswer } from './bodies.js';
import { distributionCheck, latencyCheck, maxAbsDiffCheck, skippedWithoutCurrent, type OutputCheck } from './checks.js';
import { quantileSorted } from './distance.js';
import { failed, type ModelAnswer, type ModelClient, type ModelConnector } from './model-client.js';
import type { ChildLedger } from '../children/ledger.js';
import { DEFAULT_PYTHON_TIMEOUT_MS, runPythonCheck } from './python-check.js';
import {
  bodyPreview,
  MAX_SAMPLES,
  rounded,
  verdictOf,
  type AnswerPreview,
  type CheckResult,
  type LatencySummary,
  type RegressionSample,
  type ReplayReport,
} from './report.js';

export interface ReplayTarget extends ModelConnector {
  /** The model version, for messages (`v3`); default "the candidate" / "the current model". */
  name?: string;
}

export interface ReplayProgress {
  /** Requests answered on every side (retries included). */
  done: number;
  /** How many there are, when `requests` is an array; null for a stream. */
  total: number | null;
  regressions: number;
}

export interface ReplayOptions {
  /** Captured requests, e.g. `readCapture(...)`; an array gives progress a total. */
  requests: AsyncIterable<CapturedRequest> | readonly CapturedRequest[];
  candidate: ReplayTarget;
  /**
   * The model serving live traffic today. Null (no current model): only the candidate is called; the
   * built-in rule holds it to the status each request got when it was captured, the `latency` check
   * needs `max_ms`, and checks comparing outputs with the current model are reported as skipped.
   */
  current: ReplayTarget | null;
  /** Requests in flight at once (each goes to both models, so up to this many per model). */
  concurrency: number;
  /** A model that has not started answering this long after a request was sent (or stalls mid-answer this long) has failed it. */
  timeoutMs: number;
  checks: readonly ReplayCheck[];
  /** Working directory of python checks (their file paths are relative to it). */
  pipelineDir: string;
  /** Interpreter for python checks; default `python3`. */
  python?: string;
  /** How long one python check may run; default 60 s. */
  pythonTimeoutMs?: number;
  /** Where the daemon records python checks' runners. */
  ledger?: ChildLedger;
  /** Called at the start, at most every 250 ms while requests complete, and once at the end. */
  onProgress?(p: ReplayProgress): void;
  /**
   * Stops the replay (pause, rollback, a newer candidate): nothing more is sent, requests in flight are
   * abandoned, python checks are stopped, and the promise resolves with `cancelled: true` (verdict `fail`, no checks).
   */
  signal?: AbortSignal;
}

const PROGRESS_EVERY_MS = 250;

type Outcome = 'ok' | 'regression' | 'flaky' | 'current_error';

interface Exchange {
  request: CapturedRequest;
  current: ModelAnswer | null;
  candidate: ModelAnswer;
  retry: { current: ModelAnswer | null; candidate: ModelAnswer } | null;
  outcome: Outcome;
}

/** Replays `requests` and judges the candidate; see ReplayOptions and docs/rollouts.md. */
export async function runReplay(opts: ReplayOptions): Promise<ReplayReport> {
  const started = performance.now();
  const concurrency = Math.max(1, Math.floor(opts.concurrency));
  const names = { candidate: opts.candidate.name ?? 'the candidate', current: opts.current?.name ?? 'the current model' };
  const candidate = opts.candidate.connect({ connections: concurrency, timeoutMs: opts.timeoutMs });
  const current = opts.current ? opts.current.connect({ connections: concurrency, timeoutMs: opts.timeoutMs }) : null;
  // The caller's signal stops everything: requests in flight are abandoned with their connections.
  const stop = new AbortController();
  const onAbort = () => {
    stop.abort();
    candidate.destroy();
    current?.destroy();
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  const pythonChecks = opts.checks.filter((c) => c.python !== undefined);
  const records = pythonChecks.length > 0 ? await RecordsFile.create() : null;
  const input = inputOf(opts.requests);

  const tally = {
    requested: 0,
    sent: 0,
    candidateErrors: 0,
    currentErrors: 0,
    capturedErrors: 0,
    flaky: 0,
    regressions: 0,
    comparable: 0,
  };
  const samples: RegressionSample[] = [];
  const latencies = { current: [] as number[], candidate: [] as number[] };
  const outputChecks = new Map<ReplayCheck, OutputCheck>();
  if (current) {
    for (const c of opts.checks) {
      if (c.distribution) outputChecks.set(c, distributionCheck(c.distribution));
      else if (c.max_abs_diff) outputChecks.set(c, maxAbsDiffCheck(c.max_abs_diff));
    }
  }

  let lastProgress = -Infinity;
  const progress = (force: boolean) => {
    if (!opts.onProgress) return;
    const now = performance.now();
    if (!force && now - lastProgress < PROGRESS_EVERY_MS) return;
    lastProgress = now;
    try {
      opts.onProgress({ done: tally.sent, total: input.total, regressions: tally.regressions });
    } catch {
      // a progress display's failure is not the replay's
    }
  };

  const exchange = async (request: CapturedRequest): Promise<Exchange | null> => {
    const send = (client: ModelClient) => client.invoke(request.body, request.contentType);
    const [cur, cand] = await Promise.all([current ? send(current) : null, send(candidate)]);
    if (stop.signal.aborted) return null;
    const referenceOk = cur ? !failed(cur) : !(request.status !== null && request.status >= 400);
    if (!referenceOk) return { request, current: cur, candidate: cand, retry: null, outcome: 'current_error' };
    if (!failed(cand)) return { request, current: cur, candidate: cand, retry: null, outcome: 'ok' };
    // Diffy's noise rule: a failure counts only if it repeats on the candidate while the current model still answers.
    const [rcur, rcand] = await Promise.all([current ? send(current) : null, send(candidate)]);
    if (stop.signal.aborted) return null;
    const noise = !failed(rcand) || (rcur !== null && failed(rcur));
    return { request, current: cur, candidate: cand, retry: { current: rcur, candidate: rcand }, outcome: noise ? 'flaky' : 'regression' };
  };

  const settle = (ex: Exchange) => {
    tally.sent++;
    if (failed(ex.candidate)) tally.candidateErrors++;
    if (ex.current && failed(ex.current)) tally.currentErrors++;
    if (ex.request.status !== null && ex.request.status >= 400) tally.capturedErrors++;
    if (ex.outcome !== 'current_error') tally.comparable++;
    if (ex.outcome === 'flaky') tally.flaky++;
    if (ex.outcome === 'regression') {
      tally.regressions++;
      if (samples.length < MAX_SAMPLES) samples.push(sampleOf(ex));
    }
    if (timed(ex.candidate)) latencies.candidate.push(ex.candidate.latencyMs);
    if (ex.current && timed(ex.current)) latencies.current.push(ex.current.latencyMs);
    if (outputChecks.size > 0 && ex.current && !failed(ex.current) && !failed(ex.candidate)) {
      const a = parseJsonAnswer(ex.current.body);
      const b = parseJsonAnswer(ex.candidate.body);
      for (const check of outputChecks.values()) check.observe(a, b, ex.request.inferenceId);
    }
    records?.write(recordOf(ex));
  };

  const worker = async () => {
    try {
      await pump();
    } catch (err) {
      // A capture that cannot be read ends the replay: stop the other slots' requests too.
      onAbort();
      throw err;
    }
  };
  const pump = async () => {
    while (!stop.signal.aborted) {
      const request = await input.next();
      if (request === null || stop.signal.aborted) return;
      tally.requested++;
      const ex = await exchange(request);
      if (ex === null) return;
      settle(ex);
      progress(false);
    }
  };

  try {
    progress(true);
    try {
      await Promise.all(Array.from({ length: concurrency }, worker));
    } finally {
      await input.close();
      await Promise.all([candidate.close(), current?.close()]);
    }
    progress(true);

    const checks: CheckResult[] = [];
    if (!stop.signal.aborted) {
      await records?.end();
      for (const c of opts.checks) {
        if (stop.signal.aborted) break;
        if (c.latency) checks.push(latencyCheck(c.latency, current ? latencies.current : null, latencies.candidate));
        else if (c.python) {
          checks.push(
            await runPythonCheck({
              spec: c.python,
              pipelineDir: opts.pipelineDir,
              recordsFile: records!.path,
              python: opts.python ?? 'python3',
              timeoutMs: opts.pythonTimeoutMs ?? DEFAULT_PYTHON_TIMEOUT_MS,
              signal: stop.signal,
              ...(opts.ledger ? { ledger: opts.ledger } : {}),
            }),
          );
        } else checks.push(outputChecks.get(c)?.result() ?? skippedWithoutCurrent(c));
      }
    }
    const cancelled = stop.signal.aborted;
    const baseline = current ? 'current' : 'capture';
    return {
      requested: tally.requested,
      sent: tally.sent,
      baseline,
      candidateErrors: tally.candidateErrors,
      currentErrors: tally.currentErrors,
      capturedErrors: tally.capturedErrors,
      flaky: tally.flaky,
      regressions: { count: tally.regressions, samples },
      checks: cancelled ? [] : checks,
      latency: { current: current ? summary(latencies.current) : null, candidate: summary(latencies.candidate) },
      durationMs: Math.round(performance.now() - started),
      cancelled,
      ...verdictOf({
        sent: tally.sent,
        comparable: tally.comparable,
        regressions: tally.regressions,
        flaky: tally.flaky,
        firstRegression: samples[0] ?? null,
        checks,
        cancelled,
        names,
        baseline,
      }),
    };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await records?.remove();
  }
}

/** A latency taken into the quantiles: answers, and timeouts (at the timeout); not instant connection failures. */
function timed(a: ModelAnswer): boolean {
  return a.status !== null || a.timedOut;
}

function summary(values: number[]): LatencySummary | null {
  if (values.length === 0) return null;
  const sorted = values.sort((a, b) => a - b);
  const q = (p: number) => rounded(quantileSorted(sorted, p), 4) ?? 0;
  return { p50: q(0.5), p95: q(0.95), p99: q(0.99) };
}

function preview(a: ModelAnswer): AnswerPreview {
  const p: AnswerPreview = { status: a.status, body: bodyPreview(a.body), latencyMs: rounded(a.latencyMs, 4) ?? 0 };
  if (a.error !== null) p.error = a.error;
  return p;
}

function sampleOf(ex: Exchange): RegressionSample {
  return {
    inferenceId: ex.request.inferenceId,
    at: ex.request.at,
    request: { contentType: ex.request.contentType ?? null, body: bodyPreview(ex.request.body) },
    capturedStatus: ex.request.status,
    current: ex.current ? preview(ex.current) : null,
    candidate: preview(ex.candidate),
    retry: { current: ex.retry!.current ? preview(ex.retry!.current) : null, candidate: preview(ex.retry!.candidate) },
  };
}

/** One line of the python checks' input (docs/rollouts.md, "Python checks"). */
function recordOf(ex: Exchange): string {
  const side = (a: ModelAnswer) => ({
    status: a.status,
    latencyMs: rounded(a.latencyMs, 4),
    contentType: a.contentType ?? null,
    ...decodeBody(a.body, a.contentType),
    error: a.error,
  });
  return JSON.stringify({
    inferenceId: ex.request.inferenceId,
    at: ex.request.at,
    request: { contentType: ex.request.contentType ?? null, ...decodeBody(ex.request.body, ex.request.contentType) },
    capturedStatus: ex.request.status,
    current: ex.current ? side(ex.current) : null,
    candidate: side(ex.candidate),
    retry: ex.retry ? { current: ex.retry.current ? side(ex.retry.current) : null, candidate: side(ex.retry.candidate) } : null,
    outcome: ex.outcome,
  });
}

interface Input {
  total: number | null;
  /** The next request, or null when there are no more; safe to call from several workers at once. */
  next(): Promise<CapturedRequest | null>;
  /** Lets a stream go (a capture reader stops reading). */
  close(): Promise<void>;
}

function inputOf(requests: ReplayOptions['requests']): Input {
  if (Array.isArray(requests)) {
    const list = requests as readonly CapturedRequest[];
    let i = 0;
    return { total: list.length, next: async () => (i < list.length ? list[i++]! : null), close: async () => {} };
  }
  const it = (requests as AsyncIterable<CapturedRequest>)[Symbol.asyncIterator]();
  let done = false;
  // One pull at a time: not every async iterator copes with concurrent next() calls.
  let queue: Promise<unknown> = Promise.resolve();
  return {
    total: null,
    next() {
      const pull = queue.then(async () => {
        if (done) return null;
        const r = await it.next();
        if (r.done) done = true;
        return r.done ? null : r.value;
      });
      queue = pull.catch(() => undefined);
      return pull;
    },
    async close() {
      if (done) return;
      done = true;
      await it.return?.();
    },
  };
}

/** The python checks' input, written as requests complete so memory stays flat on big replays. */
class RecordsFile {
  private constructor(
    private readonly dir: string,
    readonly path: string,
    private readonly out: WriteStream,
  ) {}

  static async create(): Promise<RecordsFile> {
    const dir = await mkdtemp(join(tmpdir(), 'mlp-replay-'));
    const path = join(dir, 'records.jsonl');
    return new RecordsFile(dir, path, createWriteStream(path));
  }

  write(line: string): void {
    this.out.write(line + '\n');
  }

  end(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.out.once('error', reject);
      this.out.end(resolve);
    });
  }

  async remove(): Promise<void> {
    if (!this.out.closed) this.out.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }
}
