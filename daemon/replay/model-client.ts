/**
 * Replay's HTTP client: `POST /invocations` straight to one model server (not through the router, so
 * replayed requests stay out of live metrics and Data Capture), over a pool of keep-alive connections.
 *
 * It is the router's own model-connection pool (daemon/serving/router/upstream.ts): a request is one latin1
 * string written once, answers are parsed in place from one shared read buffer, and an exchange is
 * one small object. Replay sends every request twice, so the client's CPU per request bounds its
 * rate: undici's `Pool.dispatch`, used before, left candidate-only replay at 0.72× autocannon
 * (docs/rollouts.md, "Replay").
 */
import type { ResponseHead } from '../serving/router/http1.js';
import { UpstreamPool, type BodyMode, type Exchange, type UpstreamConnection } from '../serving/router/upstream.js';

export interface ModelAddress {
  host: string;
  port: number;
  /** Where the server answers this model's invocations when not `/invocations` (a multi-model server's `/models/<name>/invoke`). */
  path?: string;
}

/** What one model said to one request. */
export interface ModelAnswer {
  /** HTTP status; null when none came (timeout, connection failure, cancelled). */
  status: number | null;
  body: Buffer;
  contentType: string | undefined;
  /** From handing the request to the pool to the last byte of the answer (or to the failure). */
  latencyMs: number;
  /** Set when there is no answer: `timeout after 30000 ms`, `connection refused (ECONNREFUSED)`, `cancelled`. */
  error: string | null;
  /** The error is the per-request timeout (its latency is then the timeout, and counts as such). */
  timedOut: boolean;
}

export interface ModelClient {
  invoke(body: Buffer, contentType: string | undefined): Promise<ModelAnswer>;
  /** Abandons every request in flight (they answer `cancelled`); nothing more can be sent. */
  destroy(): void;
  /** Waits for the requests in flight, then closes the connections. */
  close(): Promise<void>;
}

export interface ModelClientOptions {
  /** Requests in flight at once. */
  connections: number;
  timeoutMs: number;
}

/** How to reach one model: each platform says how its variants are called (daemon/platform/platform.ts). */
export interface ModelConnector {
  connect(opts: ModelClientOptions): ModelClient;
}

/** A model server listening on `address` (mlpd's own model servers, on either backend). */
export function modelAt(address: ModelAddress): ModelConnector {
  return { connect: (opts) => createModelClient(address, opts) };
}

const EMPTY = Buffer.alloc(0);

/** Bodies up to this size go out in the same string as the head (as the router sends them). */
const SMALL_BODY_BYTES = 64 * 1024;
/** Idle connections outlive a replay run; close() ends them. */
const IDLE_MS = 60_000;

/** An error (status >= 400, or no answer at all). */
export function failed(a: ModelAnswer): boolean {
  return a.status === null || a.status >= 400;
}

/**
 * A client for one model server holding up to `connections` keep-alive connections. A request times out
 * when the model has not answered in full `timeoutMs` after it was handed to the client.
 */
export function createModelClient(target: ModelAddress, opts: ModelClientOptions): ModelClient {
  const pool = new UpstreamPool(target.host, target.port, opts.connections, IDLE_MS);
  const path = target.path ?? '/invocations';
  const inFlight = new Set<ModelExchange>();
  let destroyed = false;
  let drained: (() => void) | null = null;
  const timeoutText = `timeout after ${opts.timeoutMs} ms`;

  const done = (exchange: ModelExchange) => {
    inFlight.delete(exchange);
    if (inFlight.size === 0 && drained !== null) drained();
  };

  return {
    invoke(body, contentType) {
      return new Promise<ModelAnswer>((resolve) => {
        if (destroyed) return resolve(noAnswer('cancelled', 0, false));
        const head = `POST ${path} HTTP/1.1\r\nHost: ${pool.hostHeader}\r\n${contentType === undefined ? '' : `Content-Type: ${contentType}\r\n`}Content-Length: ${body.length}\r\n\r\n`;
        const exchange = new ModelExchange(pool, head, body, resolve, done);
        exchange.deadline = setTimeout(() => exchange.fail(timeoutText, true), opts.timeoutMs);
        inFlight.add(exchange);
        pool.dispatch(exchange);
      });
    },
    destroy() {
      destroyed = true;
      for (const exchange of [...inFlight]) exchange.fail('cancelled', false);
      pool.close();
    },
    async close() {
      if (inFlight.size > 0) await new Promise<void>((resolve) => (drained = resolve));
      pool.close();
    },
  };
}

const noAnswer = (error: string, latencyMs: number, timedOut: boolean): ModelAnswer => ({
  status: null,
  body: EMPTY,
  contentType: undefined,
  latencyMs,
  error,
  timedOut,
});

/** One request to the model server and what it answered, carried by the pool's connections. */
class ModelExchange implements Exchange {
  queuedIn: UpstreamPool | null = null;
  upstream: UpstreamConnection | null = null;
  readonly upstreamRequest: string;
  readonly upstreamBody: Buffer | null;
  responseParts: string[] | null = [];
  deadline: NodeJS.Timeout | undefined;
  private readonly started = performance.now();
  private status = 0;
  private contentType: string | undefined;
  private retried = false;
  private settled = false;

  constructor(
    private readonly pool: UpstreamPool,
    head: string,
    body: Buffer,
    private readonly resolve: (answer: ModelAnswer) => void,
    private readonly done: (exchange: ModelExchange) => void,
  ) {
    const small = body.length <= SMALL_BODY_BYTES;
    this.upstreamRequest = small ? head + body.toString('latin1') : head;
    this.upstreamBody = small ? null : body;
  }

  onUpstreamHead(head: ResponseHead, _mode: BodyMode): void {
    this.status = head.status;
    this.contentType = head.contentType;
  }

  onUpstreamBody(): void {}

  onUpstreamEnd(): void {
    const parts = this.responseParts!;
    const body = parts.length === 0 ? EMPTY : Buffer.from(parts.length === 1 ? parts[0]! : parts.join(''), 'latin1');
    this.settle({
      status: this.status,
      body,
      contentType: this.contentType,
      latencyMs: performance.now() - this.started,
      error: null,
      timedOut: false,
    });
  }

  onUpstreamError(message: string, retryable: boolean): void {
    this.upstream = null;
    if (retryable && !this.retried && !this.settled && !this.pool.closed) {
      this.retried = true; // once, and only because no byte of the request reached the model server
      this.responseParts = [];
      this.pool.dispatch(this, true);
      return;
    }
    this.settle(noAnswer(message, performance.now() - this.started, false));
  }

  /** Gives up: the timeout, or the client was destroyed. */
  fail(error: string, timedOut: boolean): void {
    if (this.settled) return;
    this.queuedIn = null;
    this.upstream?.abort();
    this.upstream = null;
    this.settle(noAnswer(error, performance.now() - this.started, timedOut));
  }

  private settle(answer: ModelAnswer): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.deadline);
    this.done(this);
    this.resolve(answer);
  }
}
