/**
 * The TUI's link to mlpd: feeds the fleet store from the connection's snapshot and events, and
 * reconnects with backoff when the daemon goes away, resynchronising from the new snapshot (and
 * following the same logs and subscribing to the same pipelines again). It is also the action handler the provider calls.
 */
import type { FleetActions, TuiCommand } from './actions.js';
import type { DaemonConnection } from './client.js';
import type { FleetStore } from './state/store.js';

export interface LiveOptions {
  connect(): Promise<DaemonConnection>;
  store: FleetStore;
  /** First wait after a failure, doubled up to `maxDelayMs`. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** How often the daemon's clock is advanced between messages ("in 2m" counts down without traffic). Default 1 s. */
  clockMs?: number;
  now?: () => number;
}

export interface Live extends FleetActions {
  stop(): void;
}

/** Lines of history fetched when logs are opened. */
const LOG_HISTORY = 200;

export function startLive(opts: LiveOptions): Live {
  const { store } = opts;
  const initialDelay = opts.initialDelayMs ?? 250;
  const maxDelay = opts.maxDelayMs ?? 5_000;
  const followed = new Set<string>();
  let conn: DaemonConnection | null = null;
  let stopped = false;
  let wake: (() => void) | null = null;
  const now = opts.now ?? Date.now;
  // Daemon time minus local time at the last snapshot: the two machines' clocks may differ.
  let skew: number | null = null;
  const clock = setInterval(() => {
    if (conn && skew !== null) store.dispatch({ type: 'clock', at: now() + skew });
  }, opts.clockMs ?? 1_000);
  clock.unref?.();

  const watched = new Set<string>();
  const subscribe = (c: DaemonConnection, pipeline: string) =>
    c.subscribe(pipeline).then(
      // Unwatched while the answer was on its way: it is not wanted any more.
      (view) => watched.has(pipeline) && store.dispatch({ type: 'detail', pipeline: view }),
      () => undefined, // gone from the daemon (the view says so) or the connection dropped (the reconnect subscribes again)
    );

  const follow = (c: DaemonConnection, pipeline: string) =>
    c.tail(pipeline, { limit: LOG_HISTORY, follow: true }).then(
      (lines) => store.dispatch({ type: 'logs', pipeline, lines }),
      () => undefined, // the connection dropped: the reconnect follows again
    );

  async function run() {
    let delay = initialDelay;
    while (!stopped) {
      let reason: string;
      try {
        const c = await opts.connect();
        if (stopped) return c.close();
        conn = c;
        delay = initialDelay;
        // Registered in the same tick the snapshot arrives in, so no event falls between the two.
        const off = c.onEvent((event) => store.dispatch({ type: 'event', event }));
        store.dispatch({ type: 'snapshot', snapshot: c.snapshot });
        skew = c.snapshot.at - now();
        store.dispatch({
          type: 'connection',
          connection: { status: 'connected', role: c.hello.session.role, daemonVersion: c.hello.daemon.version },
        });
        // follow() and subscribe() never reject (a lost connection is redone on reconnect): fire and forget.
        for (const p of followed) void follow(c, p);
        for (const p of watched) void subscribe(c, p);
        reason = await c.closed;
        off();
        conn = null;
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
      }
      if (stopped) return;
      store.dispatch({ type: 'connection', connection: { status: 'disconnected', reason, retryInMs: delay } });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      delay = Math.min(maxDelay, delay * 2);
    }
  }
  // The reconnect loop lives as long as the client; it catches every failure itself.
  void run();

  return {
    async command(command: TuiCommand, pipeline: string) {
      if (!conn) throw new Error('not connected to mlpd');
      const result = await conn.command({ command, pipeline });
      return typeof result === 'object' && result && 'message' in result ? String(result.message) : `${command} ${pipeline}: accepted`;
    },
    followLogs(pipeline) {
      followed.add(pipeline);
      if (conn) void follow(conn, pipeline);
    },
    unfollowLogs(pipeline) {
      followed.delete(pipeline);
      try {
        conn?.unfollow(pipeline);
      } catch {
        // closed meanwhile: nothing is followed on a dead connection
      }
    },
    watch(pipeline) {
      watched.add(pipeline);
      if (conn) void subscribe(conn, pipeline);
    },
    unwatch(pipeline) {
      watched.delete(pipeline);
      store.dispatch({ type: 'forget', pipeline });
      try {
        conn?.unsubscribe(pipeline);
      } catch {
        // closed meanwhile: nothing is subscribed on a dead connection
      }
    },
    stop() {
      stopped = true;
      clearInterval(clock);
      wake?.();
      conn?.close();
    },
  };
}
