/**
 * The client end of the daemon API, used by every `mlp` command that talks to mlpd and by the TUI.
 * Connection failures become errors that say what to do (exit code 3).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { MlpError, type ErrorCode } from '../shared/errors.js';
import { DEFAULT_URL, resolveDataDir, tokenFile } from '../shared/paths.js';
import {
  PROTOCOL_VERSION,
  serverMessage,
  type ClientMessage,
  type DaemonEvent,
  type FullSnapshot,
  type LogLineView,
  type PipelineView,
  type ServerMessage,
  type Snapshot,
} from '../shared/protocol.js';

type Hello = Extract<ServerMessage, { type: 'hello' }>;
type Command = Extract<ClientMessage, { type: 'command' }>;

export interface DaemonConnection {
  readonly url: string;
  readonly hello: Hello;
  /** The snapshot sent on connect, replaced by newer ones as they arrive. */
  snapshot: Snapshot;
  status(): Promise<Snapshot>;
  /** Every pipeline's full view (what `mlp status --json` prints). */
  fullStatus(): Promise<FullSnapshot>;
  /** A pipeline's full view; later changes of it arrive as `pipeline_updated` (and its `metrics`, `history`) events. */
  subscribe(pipeline: string): Promise<PipelineView>;
  unsubscribe(pipeline: string): void;
  /** Stored lines of a pipeline; with `follow`, later lines arrive as `log` events. */
  tail(pipeline: string, opts: { sinceMs?: number; limit?: number; follow?: boolean }): Promise<LogLineView[]>;
  /** Stop the `log` events of a followed pipeline. */
  unfollow(pipeline: string): void;
  command(cmd: Omit<Command, 'type' | 'id'>): Promise<unknown>;
  onEvent(listener: (event: DaemonEvent) => void): () => void;
  /** Resolves when the daemon closes the connection (with its reason). */
  closed: Promise<string>;
  close(): void;
}

export interface ClientSettings {
  url: string;
  token: string;
}

/** `MLP_URL` (default ws://127.0.0.1:7070) and `MLP_TOKEN`, else the token file in the data dir. */
export function clientSettings(env: NodeJS.ProcessEnv = process.env): ClientSettings {
  const url = env.MLP_URL || DEFAULT_URL;
  if (env.MLP_TOKEN) return { url, token: env.MLP_TOKEN.trim() };
  const file = tokenFile(resolveDataDir(undefined, env));
  if (!existsSync(file)) {
    throw new MlpError(
      'unauthenticated',
      `no token: set MLP_TOKEN, or MLP_DATA_DIR to the daemon's data dir (there is no ${file}; mlpd writes it on first start)`,
    );
  }
  try {
    return { url, token: readFileSync(file, 'utf8').trim() };
  } catch (err) {
    throw new MlpError('unauthenticated', `cannot read the token in ${file}: ${(err as Error).message} (set MLP_TOKEN instead)`);
  }
}

export async function connect(settings: ClientSettings, opts: { timeoutMs?: number } = {}): Promise<DaemonConnection> {
  const { url } = settings;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const ws = new WebSocket(url, { headers: { authorization: `Bearer ${settings.token}` }, handshakeTimeout: timeoutMs });
  const listeners = new Set<(event: DaemonEvent) => void>();
  const pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const snapshotWaiters: ((s: Snapshot) => void)[] = [];
  let closeReason = 'closed';

  const opened = new Promise<{ hello: Hello; snapshot: Snapshot }>((resolve, reject) => {
    let hello: Hello | undefined;
    const timer = setTimeout(() => {
      reject(
        new MlpError(
          'unreachable',
          `mlpd at ${url} did not answer within ${timeoutMs}ms: is it overloaded or is something else on that port?`,
        ),
      );
      ws.terminate();
    }, timeoutMs);

    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => {
        clearTimeout(timer);
        let reason = body.trim();
        try {
          reason = (JSON.parse(body) as { error?: string }).error ?? reason;
        } catch {
          // not JSON: show the body as it is
        }
        if (res.statusCode === 401 || res.statusCode === 403) {
          reject(
            new MlpError(
              'unauthenticated',
              `${reason.startsWith('token rejected') ? reason : `token rejected: ${reason}`} (check MLP_TOKEN or the token file in the daemon's data dir)`,
            ),
          );
        } else {
          reject(new MlpError('unreachable', `${url} answered HTTP ${res.statusCode} instead of mlpd's API: is MLP_URL right?`));
        }
        ws.terminate();
      });
    });
    ws.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = err.code === 'ECONNREFUSED' ? 'connection refused' : err.message;
      reject(new MlpError('unreachable', `cannot reach mlpd at ${url}: ${why}; is \`mlpd start\` running?`));
    });
    ws.on('message', (data) => {
      const msg = parse(data.toString());
      if (!msg) return;
      if (!hello) {
        if (msg.type !== 'hello') return;
        if (msg.protocol !== PROTOCOL_VERSION) {
          clearTimeout(timer);
          reject(
            new MlpError(
              'unavailable',
              `mlpd at ${url} speaks API protocol ${msg.protocol}, this mlp speaks ${PROTOCOL_VERSION}: install the same mlp version on both sides`,
            ),
          );
          ws.close();
          return;
        }
        hello = msg;
        return;
      }
      if (msg.type === 'snapshot') {
        clearTimeout(timer);
        resolve({ hello, snapshot: msg });
      }
    });
  });

  const { hello, snapshot } = await opened;

  const conn: DaemonConnection = {
    url,
    hello,
    snapshot,
    status() {
      return new Promise<Snapshot>((resolve) => {
        snapshotWaiters.push(resolve);
        send({ type: 'status' });
      });
    },
    fullStatus() {
      return request((id) => ({ type: 'status', id, full: true })) as Promise<FullSnapshot>;
    },
    subscribe(pipeline) {
      return request((id) => ({ type: 'subscribe', id, pipeline })) as Promise<PipelineView>;
    },
    unsubscribe(pipeline) {
      send({ type: 'unsubscribe', pipeline });
    },
    command(cmd) {
      return request((id) => ({ type: 'command', id, ...cmd }));
    },
    tail(pipeline, opts) {
      return request((id) => ({ type: 'tail', id, pipeline, ...opts })) as Promise<LogLineView[]>;
    },
    unfollow(pipeline) {
      send({ type: 'unfollow', pipeline });
    },
    onEvent(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    closed: new Promise<string>((resolve) =>
      ws.on('close', (code, reason) => {
        closeReason = reason.toString() || `code ${code}`;
        const gone = new MlpError('unreachable', `mlpd closed the connection: ${closeReason}`);
        for (const p of pending.values()) p.reject(gone);
        pending.clear();
        resolve(closeReason);
      }),
    ),
    close: () => ws.close(1000, 'client done'),
  };

  ws.on('message', (data) => {
    const msg = parse(data.toString());
    if (!msg) return;
    switch (msg.type) {
      case 'snapshot':
        conn.snapshot = msg;
        snapshotWaiters.shift()?.(msg);
        return;
      case 'event':
        for (const l of listeners) l(msg.event);
        return;
      case 'reply':
      case 'logs':
      case 'detail':
      case 'full_snapshot':
      case 'error': {
        const waiter = msg.id ? pending.get(msg.id) : undefined;
        if (!waiter) return;
        pending.delete(msg.id!);
        if (msg.type === 'error') waiter.reject(new MlpError(msg.code as ErrorCode, msg.message));
        else waiter.resolve(answerOf(msg));
        return;
      }
      default:
        return;
    }
  });

  /** Sends a message with a fresh id and resolves with the daemon's answer to it. */
  function request(build: (id: string) => ClientMessage): Promise<unknown> {
    const id = randomUUID();
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      try {
        send(build(id));
      } catch (err) {
        pending.delete(id);
        reject(err as Error);
      }
    });
  }

  function send(msg: ClientMessage) {
    if (ws.readyState !== WebSocket.OPEN) throw new MlpError('unreachable', `mlpd closed the connection: ${closeReason}`);
    ws.send(JSON.stringify(msg));
  }

  return conn;
}

/** What a request's promise resolves with. */
function answerOf(msg: Extract<ServerMessage, { type: 'reply' | 'logs' | 'detail' | 'full_snapshot' }>): unknown {
  switch (msg.type) {
    case 'reply':
      return msg.result;
    case 'logs':
      return msg.lines;
    case 'detail':
      return msg.pipeline;
    case 'full_snapshot':
      return msg;
  }
}

/** A server message, or undefined for one this client does not understand (a newer daemon's event). */
function parse(text: string): ServerMessage | undefined {
  try {
    const result = serverMessage.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
