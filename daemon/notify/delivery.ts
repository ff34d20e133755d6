/**
 * The delivery worker: POSTs what the outbox holds to its targets and records each answer
 * (docs/notifications.md). A 2xx answer is final and recorded at once, so a target never gets the
 * event again; network errors, 408, 429 and 5xx are retried with backoff (retry.ts); other answers
 * fail the delivery for good. Pending deliveries are rows in SQLite, so they survive a restart.
 *
 * URLs are expanded from the daemon's environment only here, at the moment of the POST; logs and
 * status name a target by its redacted form, and error messages have the URL taken out.
 */
import { describeError } from '../../shared/errors.js';
import { expandUrl, httpUrlProblem, targetLabel, urlVariables } from '../../shared/config/notify.js';
import type { Logger } from '../log.js';
import type { StorageHealth } from '../storage-health.js';
import type { Store } from '../store/db.js';
import type { AttemptOutcome, Notification } from '../store/notifications.js';
import { classifyAnswer, nextAttemptAt, type RetryPolicy } from './retry.js';

/** One POST; resolves with the HTTP status, rejects when no answer came. */
export type Post = (url: string, body: string, headers: Record<string, string>, signal: AbortSignal) => Promise<number>;

export interface DeliveryWorkerDeps {
  store: Store;
  storage: StorageHealth;
  log: Logger;
  /** Where `${ENV_VAR}` in target URLs comes from: mlpd's environment. */
  env: Readonly<Record<string, string | undefined>>;
  retry: RetryPolicy;
  post?: Post;
  now?: () => number;
  /** How long one POST may take before it counts as a network error. */
  timeoutMs?: number;
  /** A delivery of this pipeline's changed state (the daemon republishes the pipeline). */
  onChanged?(pipeline: string): void;
}

export interface DeliveryWorker {
  /** Something was queued: look now rather than at the next due time. */
  poke(): void;
  /** Stops looking; POSTs under way are abandoned and recorded as pending (sent again at the next start). */
  close(): Promise<void>;
}

/** Deliveries started at once. */
const BATCH = 16;
/** Delivered and failed rows are kept this long for status, then pruned. */
const KEEP_MS = 30 * 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;

export function startDeliveryWorker(deps: DeliveryWorkerDeps): DeliveryWorker {
  const { store, log } = deps;
  const now = deps.now ?? Date.now;
  const post = deps.post ?? fetchPost;
  const timeoutMs = deps.timeoutMs ?? 10_000;
  /** Rows being POSTed, or whose outcome waits for the disk: never picked up again meanwhile. */
  const busy = new Set<number>();
  const inFlight = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let looking = false;
  let again = false;
  let closed = false;
  /** Aborts POSTs under way when mlpd stops: a hanging receiver must not hold up the shutdown. */
  const stopping = new AbortController();

  const arm = () => {
    clearTimeout(timer);
    if (closed) return;
    let next: number | null;
    try {
      next = store.notifications.nextDueAt();
      // Due already and being sent (or its outcome waiting for the disk): the look after that comes next.
      if (next !== null && next <= now()) next = store.notifications.due(now(), busy.size + 1).some((n) => !busy.has(n.id)) ? now() : null;
    } catch (err) {
      if (!deps.storage.failed(err)) log.error('notify', `cannot read the outbox: ${describeError(err)}`);
      next = now() + deps.storage.retryEveryMs;
    }
    if (next === null) return;
    timer = setTimeout(look, Math.max(0, next - now()));
    timer.unref();
  };

  function look() {
    if (closed) return;
    if (looking) {
      again = true;
      return;
    }
    looking = true;
    try {
      for (const n of store.notifications.due(now(), BATCH + busy.size)) {
        if (busy.has(n.id) || busy.size >= BATCH) continue;
        busy.add(n.id);
        const p = deliver(n).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    } catch (err) {
      if (!deps.storage.failed(err)) log.error('notify', `cannot read the outbox: ${describeError(err)}`);
    } finally {
      looking = false;
    }
    if (again) {
      again = false;
      setImmediate(look);
    } else arm();
  }

  async function deliver(n: Notification): Promise<void> {
    const label = targetLabel(n.target, deps.env);
    const outcome = await attempt(n, label);
    const at = now();
    const write = () => {
      store.notifications.recordAttempt(n.id, outcome, at);
      busy.delete(n.id);
      setImmediate(look);
    };
    // A 2xx that is not yet recorded must not be sent again: the row stays busy until it is written
    // (an outcome that cannot be written at all leaves it busy until mlpd starts again).
    try {
      if (!deps.storage.write(`notification ${n.id}`, write))
        log.warn('notify', `the outcome of ${n.event} → ${label} waits for the disk`, n.pipeline);
    } catch (err) {
      log.error('notify', `cannot record the delivery of ${n.event} → ${label}: ${describeError(err)}`, n.pipeline);
    }
    report(n, label, outcome);
    deps.onChanged?.(n.pipeline);
  }

  async function attempt(n: Notification, label: string): Promise<AttemptOutcome> {
    const expanded = expandUrl(n.target, deps.env);
    if ('unset' in expanded) {
      const names = expanded.unset.map((v) => `\${${v}}`).join(', ');
      return {
        status: 'failed',
        httpStatus: null,
        error: `${names} ${expanded.unset.length === 1 ? 'is' : 'are'} not set in mlpd's environment (set it where mlpd starts, then restart mlpd)`,
      };
    }
    const bad = httpUrlProblem(expanded.url);
    if (bad)
      return {
        status: 'failed',
        httpStatus: null,
        error: `the URL from ${urlVariables(n.target)
          .map((v) => `\${${v}}`)
          .join(', ')} ${bad}`,
      };
    const headers = { 'content-type': 'application/json', 'x-mlp-event-id': n.eventId, 'user-agent': 'mlpd' };
    let status: number;
    try {
      status = await post(
        expanded.url,
        JSON.stringify(n.payload),
        headers,
        AbortSignal.any([AbortSignal.timeout(timeoutMs), stopping.signal]),
      );
    } catch (err) {
      if (stopping.signal.aborted)
        return {
          status: 'pending',
          httpStatus: null,
          error: 'mlpd stopped while it was sending: sent again when it starts',
          retryAt: now(),
        };
      return retryOrGiveUp(n, null, hideSecrets(networkError(err, timeoutMs), n.target, expanded.url, label, deps.env));
    }
    const kind = classifyAnswer(status);
    if (kind === 'delivered') return { status: 'delivered', httpStatus: status };
    if (kind === 'final')
      return { status: 'failed', httpStatus: status, error: `HTTP ${status} (an answer that is not 2xx, 408, 429 or 5xx is not retried)` };
    return retryOrGiveUp(n, status, `HTTP ${status}`);
  }

  const retryOrGiveUp = (n: Notification, httpStatus: number | null, error: string): AttemptOutcome => {
    const at = now();
    const retryAt = nextAttemptAt(deps.retry, n.attempts + 1, n.createdAt, at);
    if (retryAt === null) {
      return {
        status: 'failed',
        httpStatus,
        error: `gave up after ${n.attempts + 1} attempts over ${minutes(at - n.createdAt)}; the last: ${error}`,
      };
    }
    return { status: 'pending', httpStatus, error, retryAt };
  };

  const report = (n: Notification, label: string, o: AttemptOutcome) => {
    const attempt = n.attempts + 1;
    const what = `${n.event} → ${label}`;
    if (o.status === 'delivered')
      log.info('notify', `${what} delivered (HTTP ${o.httpStatus}${attempt > 1 ? `, attempt ${attempt}` : ''})`, n.pipeline);
    else if (o.status === 'pending')
      log.warn(
        'notify',
        `${what} not delivered (${o.error}): trying again in ${seconds(o.retryAt - now())} (attempt ${attempt})`,
        n.pipeline,
      );
    else log.error('notify', `${what} failed: ${o.error}`, n.pipeline);
  };

  const prune = () => {
    try {
      store.notifications.prune(now() - KEEP_MS);
    } catch (err) {
      if (!deps.storage.failed(err)) log.error('notify', `cannot prune the outbox: ${describeError(err)}`);
    }
  };
  prune();
  const pruner = setInterval(prune, PRUNE_EVERY_MS);
  pruner.unref();
  setImmediate(look); // what a previous run of mlpd left pending

  return {
    poke() {
      if (!closed) setImmediate(look);
    },
    async close() {
      closed = true;
      clearTimeout(timer);
      clearInterval(pruner);
      stopping.abort();
      await Promise.allSettled([...inFlight]);
    },
  };
}

/** node's fetch: no redirects followed (a POST must not turn into a GET elsewhere). */
const fetchPost: Post = async (url, body, headers, signal) => {
  const res = await fetch(url, { method: 'POST', body, headers, signal, redirect: 'manual' });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
};

/** `connect ECONNREFUSED 127.0.0.1:9`, `no answer within 10 s`: what went wrong, in words. */
function networkError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string } } | undefined;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${seconds(timeoutMs)}`;
  return e?.cause?.message ?? e?.cause?.code ?? describeError(err);
}

/** Takes the URL and the variables' values out of an error message: they may be secret. */
function hideSecrets(
  message: string,
  template: string,
  url: string,
  label: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  let out = message.split(url).join(label);
  for (const name of urlVariables(template)) {
    const value = env[name];
    if (value && value.length >= 4) out = out.split(value).join('***');
  }
  return out;
}

const seconds = (ms: number) => (ms < 1000 ? `${Math.max(0, Math.round(ms))} ms` : `${+(ms / 1000).toFixed(1)} s`);
const minutes = (ms: number) => (ms < 120_000 ? seconds(ms) : `${+(ms / 60_000).toFixed(1)} min`);
