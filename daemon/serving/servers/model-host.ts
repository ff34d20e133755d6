/**
 * One multi-model server (serve.mode multi-model): a model server supervised as any other (supervisor.ts: free
 * port, /ping, restarts with backoff, the start slots), hosting models it loads over SageMaker's multi-model
 * container contract (`POST /models`, `DELETE /models/<name>`). Each hosted model gets a handle shaped like a
 * server's supervisor, so serving treats a hosted model as it treats a server of its own: it is live once the
 * server is live and has loaded it. When the server dies every model it hosted is starting again, and each is
 * loaded again as soon as the restarted server answers /ping. Unloading the last model stops the server.
 */
import { request } from 'node:http';
import { MODEL_SERVER_HOST } from './servers.js';
import { supervise, type StateChange, type SupervisedState, type Supervisor, type SupervisorOptions } from './supervisor.js';

/** A model as the load request names it. */
export interface HostedModel {
  /** The contract's `model_name` (multiModel.ts `modelName`). */
  name: string;
  /** The model's folder as the server sees it (multiModel.ts `modelUrl`). */
  url: string;
}

export interface ModelHost {
  /** Hosts the model (a server given up on is started afresh for it); the handle follows the model's state, its stop unloads it. */
  add(model: HostedModel, onChange: (change: StateChange) => void): Supervisor;
  /** The server's own state: what the server budget and the server counts see. */
  readonly state: SupervisedState;
  /** Stops the server and every model with it (the daemon stops). */
  close(graceMs: number): Promise<void>;
}

export interface ModelHostOptions extends Omit<SupervisorOptions, 'onChange'> {
  /** How long one load may take before the model counts as failed. */
  loadTimeoutMs: number;
  /** The last model was unloaded: the server stops now, and the host must not be given models any more. */
  onEmpty(): void;
}

interface Entry {
  readonly model: HostedModel;
  readonly onChange: (change: StateChange) => void;
  state: SupervisedState;
  lastError: string | null;
  /** Bumped by every load and every stop: a load that answers after a newer one (or after the stop) is ignored. */
  attempt: number;
  readonly firstLive: Promise<void>;
  resolveFirst(): void;
  rejectFirst(err: Error): void;
  readonly waiters: Set<{ resolve: () => void; reject: (err: Error) => void }>;
}

export function createModelHost(opts: ModelHostOptions): ModelHost {
  const entries = new Set<Entry>();
  let server: Supervisor;
  /** What the server last reported: its handle and restarts go with every model's change. */
  let serverChange: StateChange | null = null;
  let closing = false;

  const report = (e: Entry, state: SupervisedState, error: string | null) => {
    e.state = state;
    e.lastError = error ?? e.lastError;
    if (state === 'live' || state === 'failed' || state === 'stopped') {
      const why = new Error(state === 'failed' ? (error ?? 'it failed') : 'it was stopped');
      for (const w of e.waiters) {
        if (state === 'live') w.resolve();
        else w.reject(why);
      }
      e.waiters.clear();
      if (state === 'live') e.resolveFirst();
      else e.rejectFirst(why);
    }
    e.onChange({
      state,
      port: state === 'live' ? server.port : null,
      handle: serverChange?.handle ?? null,
      restarts: serverChange?.restarts ?? 0,
      error,
      lastError: e.lastError,
    });
  };

  const load = async (e: Entry) => {
    const attempt = ++e.attempt;
    const port = server.port;
    if (port === null) return;
    const answer = await modelApi(
      port,
      'POST',
      '/models',
      JSON.stringify({ model_name: e.model.name, url: e.model.url }),
      opts.loadTimeoutMs,
    );
    if (e.attempt !== attempt || !entries.has(e) || server.port !== port || server.state !== 'live') return;
    // 409: the server has it already (a load repeated after a lost answer); it serves it either way.
    if (answer.status === 200 || answer.status === 409) report(e, 'live', null);
    else
      report(
        e,
        'failed',
        `the multi-model server did not load model ${e.model.name} (${answer.error ?? `HTTP ${answer.status}: ${answer.body.slice(0, 300)}`})`,
      );
  };

  const onServerChange = (change: StateChange) => {
    serverChange = change;
    if (closing || change.state === 'stopped') return;
    for (const e of entries) {
      if (change.state === 'live') void load(e);
      else if (change.state === 'failed') report(e, 'failed', change.error);
      else if (e.state !== 'starting' || change.error) {
        report(e, 'starting', change.error);
        // As for a server of its own: a first start that fails is the deploy's problem at once (a no-op once live).
        if (change.error) e.rejectFirst(new Error(change.error));
      }
    }
  };

  const startServer = () => {
    server = supervise({ ...opts, onChange: onServerChange });
  };
  startServer();

  const handle = (e: Entry): Supervisor => ({
    get state() {
      return e.state;
    },
    get port() {
      return e.state === 'live' ? server.port : null;
    },
    firstLive: e.firstLive,
    whenLive() {
      if (e.state === 'live') return Promise.resolve();
      if (e.state === 'failed' || e.state === 'stopped')
        return Promise.reject(new Error(e.state === 'failed' ? (e.lastError ?? 'it failed') : 'it was stopped'));
      return new Promise((resolve, reject) => e.waiters.add({ resolve, reject }));
    },
    async stop(graceMs = 5_000) {
      if (!entries.delete(e)) return;
      e.attempt++;
      const port = server.port;
      if (entries.size === 0) {
        opts.onEmpty();
        await server.stop(graceMs);
      } else if (e.state === 'live' && port !== null) {
        // A model the server keeps by mistake costs memory, not traffic: the router no longer sends it any.
        await modelApi(port, 'DELETE', `/models/${e.model.name}`, null, opts.loadTimeoutMs);
      }
      report(e, 'stopped', null);
    },
  });

  return {
    get state() {
      return server.state;
    },
    add(model, onChange) {
      let resolveFirst!: () => void;
      let rejectFirst!: (err: Error) => void;
      const firstLive = new Promise<void>((resolve, reject) => {
        resolveFirst = resolve;
        rejectFirst = reject;
      });
      firstLive.catch(() => {}); // a caller that does not wait must not see an unhandled rejection
      const e: Entry = {
        model,
        onChange,
        state: 'starting',
        lastError: null,
        attempt: 0,
        firstLive,
        resolveFirst,
        rejectFirst,
        waiters: new Set(),
      };
      entries.add(e);
      if (server.state === 'failed')
        startServer(); // its models were failed with it; the new server loads them all
      else if (server.state === 'live') void load(e);
      return handle(e);
    },
    async close(graceMs) {
      closing = true;
      await server.stop(graceMs);
      for (const e of [...entries]) {
        entries.delete(e);
        report(e, 'stopped', null);
      }
    },
  };
}

/** One request to the server's model API; a status of 0 with `error` when no answer came. */
function modelApi(
  port: number,
  method: string,
  path: string,
  body: string | null,
  timeoutMs: number,
): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { accept: 'application/json' };
    if (body !== null) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    const req = request({ host: MODEL_SERVER_HOST, port, path, method, headers, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (err) => resolve({ status: 0, body: '', error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${Math.round(timeoutMs / 1000)}s`)));
    req.on('error', (err) => resolve({ status: 0, body: '', error: err.message }));
    req.end(body ?? undefined);
  });
}
