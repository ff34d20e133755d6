/**
 * Replay's HTTP client: `POST /invocations` straight to one model server (not through the router, so
 * replayed requests stay out of live metrics and Data Capture), over a pool of keep-alive connections.
 *
 * undici's `Pool.dispatch` costs about half the CPU per request of node:http with a keep-alive Agent,
 * and two thirds of undici's own `request` (docs/rollouts.md, "Replay", measured): replay sends every
 * request twice, so the client's cost per request bounds its rate.
 */
import { Pool } from 'undici';

export interface ModelAddress {
  host: string;
  port: number;
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

/** How long past `timeoutMs` the hard deadline of a request falls. */
const DEADLINE_SLACK_MS = 1_000;

/** An error (status >= 400, or no answer at all). */
export function failed(a: ModelAnswer): boolean {
  return a.status === null || a.status >= 400;
}

/**
 * A client for one model server holding up to `connections` keep-alive connections. A request times out
 * when the model has not started answering `timeoutMs` after it was sent, or its answer stalls that long.
 * Requests go through undici's `dispatch` with a handler of our own: no stream or AbortSignal per request,
 * which is most of what a request costs the client.
 */
export function createModelClient(target: ModelAddress, opts: ModelClientOptions): ModelClient {
  const host = target.host.includes(':') && !target.host.startsWith('[') ? `[${target.host}]` : target.host;
  const pool = new Pool(`http://${host}:${target.port}`, { connections: opts.connections, pipelining: 1 });
  const timeoutText = `timeout after ${opts.timeoutMs} ms`;
  let destroyed = false;

  function invoke(body: Buffer, contentType: string | undefined): Promise<ModelAnswer> {
    return new Promise((resolve) => {
      const started = performance.now();
      let status: number | null = null;
      let type: string | undefined;
      const chunks: Buffer[] = [];
      let abort: ((reason: Error) => void) | undefined;
      // A hard deadline besides undici's timers: those only start once the request is written, so a
      // request stuck before that (a stalled write, a wedged connection) would otherwise wait for the
      // model server's own request timeout (Node's is 5 minutes).
      const deadline = setTimeout(() => {
        abort?.(new Error(timeoutText));
        settle(timeoutText, true);
      }, opts.timeoutMs + DEADLINE_SLACK_MS);
      const settle = (error: string | null, timedOut = false) => {
        clearTimeout(deadline);
        resolve({
          status: error === null ? status : null,
          body: error !== null ? EMPTY : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks),
          contentType: error === null ? type : undefined,
          latencyMs: performance.now() - started,
          error,
          timedOut,
        });
      };
      try {
        pool.dispatch(
          {
            path: '/invocations',
            method: 'POST',
            headers: contentType === undefined ? undefined : { 'content-type': contentType },
            body,
            headersTimeout: opts.timeoutMs,
            bodyTimeout: opts.timeoutMs,
          },
          {
            onRequestStart(controller) {
              abort = (reason) => controller.abort(reason);
            },
            onResponseStart(_controller, statusCode, headers) {
              status = statusCode;
              const t = headers['content-type'];
              type = Array.isArray(t) ? t[0] : t;
            },
            onResponseData(_controller, chunk) {
              chunks.push(chunk);
            },
            onResponseEnd() {
              settle(null);
            },
            onResponseError(_controller, err) {
              const code = (err as { code?: string }).code;
              if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') settle(timeoutText, true);
              else settle(destroyed ? 'cancelled' : connectionError(err));
            },
          },
        );
      } catch (err) {
        settle(destroyed ? 'cancelled' : connectionError(err));
      }
    });
  }

  return {
    invoke,
    destroy() {
      destroyed = true;
      void pool.destroy().catch(() => undefined);
    },
    close: () => (destroyed ? Promise.resolve() : pool.close()),
  };
}
function connectionError(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string } };
  const code = e.code ?? e.cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED)';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `connection dropped (${code}): ${e.message ?? ''}`.trim();
    default:
      return code ? `${code}: ${e.message ?? ''}` : String(e.message ?? err);
  }
}
