/**
 * When a delivery is tried again (docs/notifications.md, "Retries"): network errors, 408, 429 and
 * 5xx answers are retried with backoff for up to 10 minutes after the event; any other answer that
 * is not 2xx is final. Pure: the delivery worker passes the clock.
 */

export interface RetryPolicy {
  /** The wait after the 1st, 2nd, ... failed attempt; the last one repeats. */
  delaysMs: readonly number[];
  /** No attempt starts later than this after the event. */
  giveUpAfterMs: number;
}

const DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 15_000, 30_000, 60_000];
const GIVE_UP_AFTER_MS = 10 * 60_000;

/** The default schedule, every wait divided by mlpd's --time-scale (as every other duration). */
export function retryPolicy(timeScale = 1): RetryPolicy {
  return {
    delaysMs: DELAYS_MS.map((ms) => Math.max(1, Math.round(ms / timeScale))),
    giveUpAfterMs: Math.max(1, Math.round(GIVE_UP_AFTER_MS / timeScale)),
  };
}

/** What an HTTP answer means for the delivery. */
export function classifyAnswer(status: number): 'delivered' | 'retry' | 'final' {
  if (status >= 200 && status < 300) return 'delivered';
  return status === 408 || status === 429 || status >= 500 ? 'retry' : 'final';
}

/**
 * When to try again after `attempts` failed attempts of an event created at `createdAt`; null once
 * the 10 minutes are over. The last attempt falls on the deadline rather than past it.
 */
export function nextAttemptAt(policy: RetryPolicy, attempts: number, createdAt: number, now: number): number | null {
  const deadline = createdAt + policy.giveUpAfterMs;
  if (now >= deadline) return null;
  const delay = policy.delaysMs[Math.min(Math.max(attempts, 1), policy.delaysMs.length) - 1] ?? 0;
  return Math.min(now + delay, deadline);
}
