/**
 * The daemon's HTTP + WebSocket endpoint (docs/api.md).
 *
 * Transport only: it authenticates the upgrade, parses and validates frames, and turns errors into
 * error frames. What a message means is decided by the handlers it is given.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  clientMessage,
  MAX_CLIENT_MESSAGE_BYTES,
  MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type ClientMessage,
  type CommandMessage,
  type DaemonEvent,
  type FullSnapshot,
  type PipelineView,
  type LogLineView,
  type Role,
  type ServerMessage,
  type Snapshot,
} from '../../shared/protocol.js';
import { describeError, MlpError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import { listen, urlHost } from '../net.js';
import { isStorageUnavailable } from '../store/sqlite-errors.js';

export interface Session {
  /** The token's name: who did it, in the audit log. */
  token: string;
  role: Role;
}

export interface ApiHandlers {
  authenticate(secret: string): Session | null;
  /** Whether the session's token is still valid (not revoked since it connected). Must be cheap. */
  sessionValid(session: Session): boolean;
  snapshot(): Snapshot;
  fullSnapshot(id: string | null): FullSnapshot;
  /** One pipeline's full view; throws not_found for a pipeline not in force. */
  detail(pipeline: string): PipelineView;
  execute(command: CommandMessage, session: Session): Promise<unknown>;
  /** Stored log lines of a pipeline, oldest first (the newest `limit` of those since `sinceMs`). */
  tail(pipeline: string, opts: { sinceMs?: number; limit: number }): LogLineView[];
  subscribe(listener: (event: DaemonEvent) => void): () => void;
}

export interface ApiServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** A client that lets this much pile up unsent is too slow to keep up with events and is dropped. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

/**
 * How often open sessions are checked against revocation. Tokens are revoked by another process
 * (`mlpd token revoke` writes the store), so the daemon learns of it by looking: on every message a
 * session sends, and this often for sessions that only listen to events.
 */
const REVOCATION_CHECK_MS = 1_000;

/** The close frame a session of a revoked token gets (1008: policy violation). */
const REVOKED_CLOSE = { code: 1008, reason: 'token revoked' } as const;

export async function startApiServer(opts: {
  host: string;
  port: number;
  handlers: ApiHandlers;
  log: Logger;
  daemon: { version: string; startedAt: number; serveUrl: string };
  revocationCheckMs?: number;
}): Promise<ApiServer> {
  const { handlers, log } = opts;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const sessions = new Map<WebSocket, Session>();
  /** Pipelines whose `log` events a connection follows (`*`: all). */
  const follows = new Map<WebSocket, Set<string>>();
  /** Pipelines whose full view, metrics and history a connection gets (`subscribe`); other events go to everyone. */
  const subscriptions = new Map<WebSocket, Set<string>>();

  const http: Server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: 'ok', protocol: PROTOCOL_VERSION, version: opts.daemon.version }));
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: `no such endpoint: ${req.method} ${req.url}; the API is a WebSocket on /` }));
  });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const session = authenticateUpgrade(req, handlers);
    if ('refused' in session) {
      log.warn('api', `refused a connection from ${req.socket.remoteAddress}: ${session.refused}`);
      refuseUpgrade(socket, session.refused);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, session));
  });

  /** Ends the session of a revoked token: no more events, commands or reads on it. */
  function endRevoked(ws: WebSocket, session: Session) {
    if (!sessions.delete(ws)) return;
    follows.delete(ws);
    subscriptions.delete(ws);
    log.info('api', `closed a connection of token '${session.token}': the token was revoked`);
    ws.close(REVOKED_CLOSE.code, REVOKED_CLOSE.reason);
  }

  /**
   * Checked before any message is acted on, since the token may have been revoked after the
   * upgrade: a revoked session's message is answered with an error and the session ends.
   */
  function stillValid(ws: WebSocket, session: Session, id: string | null): boolean {
    let valid: boolean;
    try {
      valid = handlers.sessionValid(session);
    } catch (err) {
      log.error('api', `cannot check token '${session.token}' against revocation: ${describeError(err)}`);
      send(ws, { type: 'error', id, code: 'unavailable', message: `mlpd cannot check this token right now: ${describeError(err)}` });
      return false;
    }
    if (valid) return true;
    send(ws, {
      type: 'error',
      id,
      code: 'unauthenticated',
      message: `token '${session.token}' was revoked: this connection is closed (ask for a new token: mlpd token create)`,
    });
    endRevoked(ws, session);
    return false;
  }

  let checkFailing = false; // said once when the store cannot be read, once when it can again
  const revocationCheck = setInterval(() => {
    if (sessions.size === 0) return;
    try {
      const valid = new Map<string, boolean>(); // one lookup per token, however many sessions share it
      for (const [ws, session] of sessions) {
        let ok = valid.get(session.token);
        if (ok === undefined) valid.set(session.token, (ok = handlers.sessionValid(session)));
        if (!ok) endRevoked(ws, session);
      }
      if (checkFailing) log.info('api', 'open sessions are checked against revoked tokens again');
      checkFailing = false;
    } catch (err) {
      if (!checkFailing)
        log.error('api', `cannot check open sessions against revoked tokens (retrying every second): ${describeError(err)}`);
      checkFailing = true;
    }
  }, opts.revocationCheckMs ?? REVOCATION_CHECK_MS);
  revocationCheck.unref();

  const unsubscribe = handlers.subscribe((event) => {
    if (sessions.size === 0) return;
    if (event.kind === 'metrics' || event.kind === 'history') return sendToSubscribers(event);
    const frame = JSON.stringify({ type: 'event', event } satisfies ServerMessage);
    for (const ws of sessions.keys()) {
      if (event.kind === 'log') {
        const f = follows.get(ws);
        if (!f || !(f.has('*') || (event.pipeline !== null && f.has(event.pipeline)))) continue;
      }
      sendRaw(ws, frame);
    }
    if (event.kind === 'fleet') sendDetails(event.pipelines.map((p) => p.name));
  });

  /** A traffic event cut down, for each connection, to the pipelines it subscribed to. */
  function sendToSubscribers(event: Extract<DaemonEvent, { kind: 'metrics' | 'history' }>) {
    for (const [ws, subs] of subscriptions) {
      if (subs.size === 0) continue;
      const mine: DaemonEvent =
        event.kind === 'metrics'
          ? { ...event, variants: event.variants.filter((v) => subs.has(v.pipeline)) }
          : { ...event, pipelines: event.pipelines.filter((x) => subs.has(x.pipeline)) };
      if ((mine.kind === 'metrics' ? mine.variants : mine.pipelines).length) send(ws, { type: 'event', event: mine });
    }
  }

  /** The full views of changed pipelines, to the connections that subscribed to them (each view built once). */
  function sendDetails(changed: string[]) {
    const frames = new Map<string, string | null>();
    const frameOf = (name: string) => {
      if (!frames.has(name)) {
        let frame: string | null = null;
        try {
          frame = JSON.stringify({
            type: 'event',
            event: { kind: 'pipeline_updated', pipeline: handlers.detail(name) },
          } satisfies ServerMessage);
        } catch (err) {
          if (!(err instanceof MlpError)) log.error('api', `cannot build the view of ${name}: ${describeError(err)}`);
        }
        frames.set(name, frame);
      }
      return frames.get(name)!;
    };
    for (const [ws, subs] of subscriptions) {
      for (const name of changed) {
        if (!subs.has(name)) continue;
        const frame = frameOf(name);
        if (frame) sendRaw(ws, frame);
      }
    }
  }

  function sendRaw(ws: WebSocket, frame: string) {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      ws.close(1013, 'client too slow to keep up with events');
      return;
    }
    ws.send(frame);
  }
  const send = (ws: WebSocket, msg: ServerMessage) => sendRaw(ws, JSON.stringify(msg));

  function onConnection(ws: WebSocket, session: Session) {
    sessions.set(ws, session);
    log.debug('api', `client connected with token '${session.token}' (${session.role})`);
    send(ws, { type: 'hello', protocol: PROTOCOL_VERSION, daemon: opts.daemon, session });
    send(ws, handlers.snapshot());
    ws.on('message', (data, isBinary) => void onMessage(ws, session, data as Buffer, isBinary));
    ws.on('close', () => {
      sessions.delete(ws);
      follows.delete(ws);
      subscriptions.delete(ws);
    });
    ws.on('error', (err) => log.warn('api', `connection error: ${err.message}`));
  }

  async function onMessage(ws: WebSocket, session: Session, data: Buffer, isBinary: boolean) {
    if (!sessions.has(ws)) return; // ended (revoked) while this frame was on its way
    const parsed = parseClientMessage(data, isBinary);
    if (!stillValid(ws, session, 'error' in parsed ? parsed.id : (parsed.message.id ?? null))) return;
    if ('error' in parsed) {
      send(ws, { type: 'error', id: parsed.id, code: 'bad_request', message: parsed.error });
      return;
    }
    const msg = parsed.message;
    const id = msg.id ?? null;
    try {
      switch (msg.type) {
        case 'ping':
          send(ws, { type: 'pong', id });
          return;
        case 'status':
          send(ws, msg.full ? handlers.fullSnapshot(id) : handlers.snapshot());
          return;
        case 'subscribe': {
          const pipeline = handlers.detail(msg.pipeline);
          // Subscribed before answering, so no change falls between the view and the updates after it.
          const subs = subscriptions.get(ws) ?? new Set<string>();
          subs.add(msg.pipeline);
          subscriptions.set(ws, subs);
          send(ws, { type: 'detail', id, pipeline });
          return;
        }
        case 'unsubscribe':
          subscriptions.get(ws)?.delete(msg.pipeline);
          send(ws, { type: 'reply', id, result: { subscribed: [...(subscriptions.get(ws) ?? [])] } });
          return;
        case 'tail': {
          const lines = handlers.tail(msg.pipeline, {
            ...(msg.sinceMs !== undefined ? { sinceMs: msg.sinceMs } : {}),
            limit: msg.limit ?? 1000,
          });
          // Follow before answering, so no line falls between the stored ones and the live ones.
          if (msg.follow) {
            const f = follows.get(ws) ?? new Set<string>();
            f.add(msg.pipeline);
            follows.set(ws, f);
          }
          send(ws, { type: 'logs', id, lines });
          return;
        }
        case 'unfollow':
          if (msg.pipeline === '*') follows.delete(ws);
          else follows.get(ws)?.delete(msg.pipeline);
          send(ws, { type: 'reply', id, result: { following: [...(follows.get(ws) ?? [])] } });
          return;
        case 'command':
          send(ws, { type: 'reply', id, result: await handlers.execute(msg, session) });
          return;
      }
    } catch (err) {
      // A full disk is not a bug: the client is told what refused, and that nothing was changed.
      const refused = isStorageUnavailable(err) ? storageRefusal(err as Error) : undefined;
      if (!(err instanceof MlpError) && !refused) log.error('api', `${msg.type} failed: ${describeError(err)}`);
      const code = err instanceof MlpError ? err.code : refused ? 'unavailable' : 'internal';
      send(ws, { type: 'error', id, code, message: refused ?? describeError(err) });
    }
  }

  const port = await listen(http, 'the API', opts.host, opts.port);

  return {
    url: `ws://${urlHost(opts.host)}:${port}`,
    port,
    async close() {
      clearInterval(revocationCheck);
      unsubscribe();
      for (const ws of sessions.keys()) ws.close(1001, 'mlpd is shutting down');
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      // Sockets that did not answer the close handshake in time are cut.
      for (const ws of sessions.keys()) ws.terminate();
      wss.close();
    },
  };
}

function authenticateUpgrade(req: IncomingMessage, handlers: ApiHandlers): Session | { refused: string } {
  const header = req.headers.authorization;
  if (!header) return { refused: "missing bearer token: send 'Authorization: Bearer <token>'" };
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return { refused: "malformed Authorization header: expected 'Bearer <token>'" };
  const session = handlers.authenticate(m[1]!);
  if (!session) return { refused: 'unknown or revoked token' };
  return session;
}

/** Answers the upgrade request with 401 and the reason, before any WebSocket data is exchanged. */
function refuseUpgrade(socket: Duplex, reason: string) {
  const body = JSON.stringify({ error: `token rejected: ${reason}` });
  socket.end(
    'HTTP/1.1 401 Unauthorized\r\n' +
      'Connection: close\r\n' +
      'Content-Type: application/json\r\n' +
      'WWW-Authenticate: Bearer realm="mlpd"\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );
}

type Parsed = { message: ClientMessage } | { error: string; id: string | null };

/** Turns a frame into a valid message, or an error that says what is wrong with it. */
export function parseClientMessage(data: Buffer, isBinary: boolean): Parsed {
  if (isBinary) return { error: 'binary frames are not accepted: send JSON text', id: null };
  if (data.length > MAX_CLIENT_MESSAGE_BYTES) {
    return { error: `message too large: ${data.length} bytes, the limit is ${MAX_CLIENT_MESSAGE_BYTES}`, id: null };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString('utf8'));
  } catch (err) {
    return { error: `malformed message: not JSON (${(err as Error).message})`, id: null };
  }
  const id =
    typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : null;
  const result = clientMessage.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
    return { error: `invalid message: ${issues.join('; ')}`, id };
  }
  return { message: result.data };
}

/** What a client is told when the daemon's database refused the write its request needed. */
function storageRefusal(err: Error): string {
  return `the daemon's database refuses writes (${err.message}): nothing was changed; try again once its disk has room (mlp status shows the problem)`;
}
