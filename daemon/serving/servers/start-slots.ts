/**
 * How many model servers may be starting at once. A server's start is mostly CPU (an interpreter
 * loading its libraries and the model), so a thousand starting together on two cores all finish
 * late; a bounded number finish one after another, each taking traffic as soon as it answers /ping.
 * Waiters are served first come, first served.
 */
export interface StartSlots {
  /** Resolves with the function that gives the slot back (call it once the server is live, or its start failed). */
  acquire(): Promise<() => void>;
  /** Servers starting now, and waiting for a slot. */
  readonly starting: number;
  readonly waiting: number;
}

/** `limit` is asked at every start and release, so a changed setting applies to the next start. */
export function createStartSlots(limit: () => number): StartSlots {
  let starting = 0;
  const queue: (() => void)[] = [];
  const release = () => {
    // The slot passes straight to the next waiter, unless the limit went down meanwhile.
    const next = starting <= limit() ? queue.shift() : undefined;
    if (next) next();
    else starting--;
  };
  const once = () => {
    let given = false;
    return () => {
      if (given) return;
      given = true;
      release();
    };
  };
  return {
    acquire() {
      if (starting < limit() && queue.length === 0) {
        starting++;
        return Promise.resolve(once());
      }
      return new Promise((resolve) => queue.push(() => resolve(once())));
    },
    get starting() {
      return starting;
    },
    get waiting() {
      return queue.length;
    },
  };
}
