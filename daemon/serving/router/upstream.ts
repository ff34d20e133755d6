/**
 * Connections from the router to one model server: a bounded pool of keep-alive connections per
 * variant, one request at a time on each (no upstream pipelining, so a failure is never ambiguous
 * about which request it hit). A response is parsed only as far as its framing needs: the head,
 * then Content-Length, chunked or read-until-close. Bytes travel as latin1 strings (see router.ts).
 */
import { connect, type Socket } from 'node:net';
import { systemClock, type WallClock } from '../../scheduler/clock.js';
import { ChunkedDecoder, parseResponseHead, ResponseHead } from './http1.js';

/** The side of an exchange that owns the client: the pool and connection call back into it. */
export interface Exchange {
  /** Set while the exchange waits for a free connection of this pool. */
  queuedIn: UpstreamPool | null;
  /** The connection carrying the exchange, set by send(). */
  upstream: UpstreamConnection | null;
  /** The request as it goes to the model server, latin1: the head, and the body unless it is in upstreamBody. */
  readonly upstreamRequest: string;
  /** A large body, sent after upstreamRequest. */
  readonly upstreamBody: Buffer | null;
  /** When not null, the response body (de-chunked) is collected here, in pieces. */
  responseParts: string[] | null;
  /** A final (non-1xx) response head arrived. */
  onUpstreamHead(head: ResponseHead, mode: BodyMode): void;
  /** Response body bytes as the server framed them, to forward as they are. */
  onUpstreamBody(data: string): void;
  onUpstreamEnd(): void;
  /** The exchange failed; `retryable` when no byte of the request reached the server. */
  onUpstreamError(message: string, retryable: boolean): void;
}

/** How the response body ends (RFC 9112 §6.3). `Close`: no Content-Length and not chunked, the body ends when the server closes. */
export const BodyMode = { None: 0, Length: 1, Chunked: 2, Close: 3 } as const;
export type BodyMode = (typeof BodyMode)[keyof typeof BodyMode];

const IDLE = 0;
const HEAD = 1;
const BODY = 2;

const MAX_RESPONSE_HEAD = 64 * 1024;
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Writes a head and a large body in one go (corked: one writev). */
export function writeMessage(socket: Socket, head: string, body: Buffer): boolean {
  socket.cork();
  socket.write(head, 'latin1');
  const ok = socket.write(body);
  socket.uncork();
  return ok;
}

export class UpstreamConnection {
  readonly socket: Socket;
  exchange: Exchange | null = null;
  /** Set once the connection must not be used again. */
  dead = false;
  idleSince = 0;
  /** How long the server keeps an idle connection, from its Keep-Alive header (ms, 0 = unknown). */
  serverIdleMs = 0;
  private connected = false;
  private sent = false;
  private phase = IDLE;
  private mode: BodyMode = BodyMode.None;
  private remaining = 0;
  /** The start of a response head that did not fit one read. */
  private pending = '';
  private decoder: ChunkedDecoder | null = null;
  private readonly head = new ResponseHead();

  constructor(readonly pool: UpstreamPool) {
    // Reads land in one buffer shared by all model connections (each read is turned into a string
    // before the next one), which spares node's per-read allocation and stream machinery.
    const socket = connect({
      host: pool.host,
      port: pool.port,
      noDelay: true,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array) => {
          try {
            this.onData((buf as Buffer).toString('latin1', 0, n));
          } catch (err) {
            this.fail(`router error reading the response: ${(err as Error).message}`);
          }
          return true;
        },
      },
    });
    this.socket = socket;
    socket.on('connect', () => {
      this.connected = true;
      if (this.exchange !== null) this.sent = true;
    });
    socket.on('end', () => this.onEnd());
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(describe(err, pool)));
    socket.on('close', () => {
      this.fail('the model server closed the connection');
      pool.forget(this);
    });
  }

  /** Sends the exchange's request; the response comes back through its callbacks. */
  send(exchange: Exchange): void {
    this.exchange = exchange;
    exchange.upstream = this;
    this.phase = HEAD;
    this.sent = this.connected;
    if (exchange.upstreamBody === null) this.socket.write(exchange.upstreamRequest, 'latin1');
    else writeMessage(this.socket, exchange.upstreamRequest, exchange.upstreamBody);
  }

  /** Drops the exchange (the router gave up on it) and the connection with it. */
  abort(): void {
    this.exchange = null;
    this.destroy();
  }

  destroy(): void {
    if (this.dead) return;
    this.dead = true;
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  private onData(read: string): void {
    const exchange = this.exchange;
    if (exchange === null || this.phase === IDLE) {
      this.destroy(); // bytes nobody asked for: the connection's framing cannot be trusted any more
      return;
    }
    let text = read;
    let i = 0;
    if (this.phase === HEAD) {
      if (this.pending !== '') {
        text = this.pending + read;
        this.pending = '';
      }
      for (;;) {
        const end = text.indexOf('\r\n\r\n', i);
        if (end < 0) {
          if (text.length - i > MAX_RESPONSE_HEAD) return this.fail('the response head is too large');
          this.pending = text.slice(i);
          return;
        }
        const problem = parseResponseHead(text, i, end + 2, this.head);
        if (problem !== null) return this.fail(`malformed response: ${problem}`);
        i = end + 4;
        if (this.head.status >= 200) break;
        if (this.head.status === 101) return this.fail('the model server switched protocols');
      }
      const head = this.head;
      if (head.status === 204 || head.status === 304) this.mode = BodyMode.None;
      else if (head.chunked) {
        this.mode = BodyMode.Chunked;
        (this.decoder ??= new ChunkedDecoder()).reset();
      } else if (head.contentLength >= 0) {
        this.mode = BodyMode.Length;
        this.remaining = head.contentLength;
      } else this.mode = BodyMode.Close;
      if (head.keepAliveMs > 0) this.serverIdleMs = head.keepAliveMs;
      this.phase = BODY;
      exchange.onUpstreamHead(head, this.mode);
      if (this.exchange !== exchange) return; // the exchange gave up while handling the head
      if (this.mode === BodyMode.None || (this.mode === BodyMode.Length && this.remaining === 0)) return this.finish(i < text.length);
    }
    const length = text.length;
    if (i >= length) return;
    switch (this.mode) {
      case BodyMode.Length: {
        const n = Math.min(this.remaining, length - i);
        const data = i === 0 && n === length ? text : text.slice(i, i + n);
        this.remaining -= n;
        exchange.responseParts?.push(data);
        exchange.onUpstreamBody(data);
        if (this.remaining === 0) this.finish(i + n < length);
        return;
      }
      case BodyMode.Chunked: {
        const end = this.decoder!.feed(text, i, length, exchange.responseParts);
        if (end === -2) return this.fail(`malformed chunked response: ${this.decoder!.error}`);
        exchange.onUpstreamBody(i === 0 && end === -1 ? text : text.slice(i, end === -1 ? length : end));
        if (end >= 0) this.finish(end < length);
        return;
      }
      case BodyMode.Close:
        exchange.responseParts!.push(i === 0 ? text : text.slice(i));
        return;
      default:
        this.destroy(); // a body where none may be
    }
  }

  /** The response ended; `extra` when the server sent bytes after it (the connection is then unusable). */
  private finish(extra: boolean): void {
    const exchange = this.exchange!;
    this.exchange = null;
    this.phase = IDLE;
    this.pending = '';
    // A response that came before the whole request was written leaves the connection mid-message.
    if (this.head.reusable && !extra && this.socket.writableLength === 0) this.pool.release(this);
    else this.destroy();
    exchange.onUpstreamEnd();
  }

  private onEnd(): void {
    if (this.exchange !== null && this.phase === BODY && this.mode === BodyMode.Close) {
      this.head.reusable = false;
      this.finish(false);
      return;
    }
    this.fail('the model server closed the connection before answering in full');
  }

  private fail(message: string): void {
    const exchange = this.exchange;
    this.exchange = null;
    this.phase = IDLE;
    this.destroy();
    if (exchange !== null) exchange.onUpstreamError(message, !this.sent);
  }
}

function describe(err: NodeJS.ErrnoException, pool: UpstreamPool): string {
  const where = `${pool.host}:${pool.port}`;
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where} (is the model server running?)`;
    case 'ECONNRESET':
      return `the model server at ${where} reset the connection`;
    case 'EPIPE':
      return `the model server at ${where} closed the connection while the request was sent`;
    case 'ETIMEDOUT':
      return `connecting to ${where} timed out`;
    default:
      return `${where}: ${err.message}`;
  }
}

/** The keep-alive connections to one model server (one variant). */
export class UpstreamPool {
  readonly hostHeader: string;
  /** Connections open or opening. */
  total = 0;
  closed = false;
  /** Most recently used last: reuse takes the warmest, the sweep closes the coldest. */
  private readonly idle: UpstreamConnection[] = [];
  private waiters: Exchange[] = [];
  private waitHead = 0;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly maxConnections: number,
    /** Idle connections are closed after this long (or sooner, if the server keeps them for less). */
    private readonly idleMs: number,
    /** The router's clock: idle times are compared with the `now` its sweep passes. */
    private readonly clock: WallClock = systemClock,
  ) {
    this.hostHeader = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** Sends the exchange on an idle connection, a new one, or queues it until one is free. */
  dispatch(exchange: Exchange, fresh = false): void {
    if (!fresh) {
      const idle = this.idle;
      while (idle.length > 0) {
        const conn = idle.pop()!;
        if (!conn.dead) return conn.send(exchange);
      }
    }
    if (this.closed) return exchange.onUpstreamError('the router is shutting down', false);
    if (this.total < this.maxConnections) return this.open().send(exchange);
    exchange.queuedIn = this;
    this.waiters.push(exchange);
  }

  /** A connection finished its exchange and may carry another. */
  release(conn: UpstreamConnection): void {
    if (this.closed || conn.dead) return conn.destroy();
    const next = this.nextWaiter();
    if (next !== null) return conn.send(next);
    conn.idleSince = this.clock.now();
    this.idle.push(conn);
  }

  /** The connection closed; a queued exchange gets a new connection in its place. */
  forget(conn: UpstreamConnection): void {
    this.total--;
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.closed) return;
    const next = this.nextWaiter();
    if (next !== null) this.open().send(next);
  }

  /** Closes connections idle for too long; true when the pool holds nothing any more. */
  sweep(now: number): boolean {
    const idle = this.idle;
    while (idle.length > 0) {
      const conn = idle[0]!;
      const limit = conn.serverIdleMs > 0 ? Math.min(this.idleMs, conn.serverIdleMs - 1000) : this.idleMs;
      if (now - conn.idleSince < limit) break;
      idle.shift();
      conn.destroy();
    }
    return this.total === 0 && this.waitHead >= this.waiters.length;
  }

  close(): void {
    this.closed = true;
    for (const conn of this.idle.splice(0)) conn.destroy();
  }

  private open(): UpstreamConnection {
    this.total++;
    return new UpstreamConnection(this);
  }

  private nextWaiter(): Exchange | null {
    const waiters = this.waiters;
    while (this.waitHead < waiters.length) {
      const next = waiters[this.waitHead++]!;
      if (next.queuedIn === this) {
        next.queuedIn = null;
        if (this.waitHead > 1024) {
          this.waiters = waiters.slice(this.waitHead);
          this.waitHead = 0;
        }
        return next;
      }
    }
    if (waiters.length > 0) {
      this.waiters = [];
      this.waitHead = 0;
    }
    return null;
  }
}
