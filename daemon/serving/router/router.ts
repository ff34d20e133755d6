/**
 * The model-traffic endpoint on `--serve-port` (docs/serving.md, "Calling a model"): `POST /endpoints/<pipeline>/invocations`
 * with the group in `X-Mlp-Group`, or `/endpoints/<pipeline>/groups/<group>/invocations`, split
 * between the group's live variants by weight and answered with `X-Mlp-Variant`.
 *
 * It is a small HTTP/1.1 proxy over raw sockets rather than node:http on both sides: node:http
 * builds header objects, streams and closures per request and tops out near half of nginx on this
 * path (docs/serving.md, "Router performance"). Here a request is parsed just far enough to route it
 * and find its end; header lines are forwarded verbatim; one object per client connection carries
 * each exchange in turn. Where a whole request goes is decided apart, without sockets
 * (route-decision.ts); heads and the router's own answers are written by response-head.ts, in words
 * from errors.ts. Errors are JSON bodies that say what to fix; no input makes it throw.
 * With a serving token (MLP_SERVE_TOKEN), every request but GET /ping must carry it (bearer.ts).
 *
 * The same path serves InvokeEndpoint as SageMaker runtime clients send it (sagemaker-runtime.ts):
 * such a request is known by its headers (RequestHead.sageMaker) and answered in SageMaker's
 * shapes; the endpoint name may also be `<pipeline>--<group>`.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { listen } from '../../net.js';
import type { Logger } from '../../log.js';
import { systemClock, type WallClock } from '../../scheduler/clock.js';
import { ChunkedDecoder, parseRequestHead, RequestHead, unframedLines, type ResponseHead } from './http1.js';
import { adoptClientSocket, inReadBuffer } from './client-socket.js';
import { GroupPicker } from './picker.js';
import { decideRoute, PathMemo, PING_BODY, type RouteContext } from './route-decision.js';
import { errorAnswer, jsonAnswer, ownResponse, responseHead, variantFailureAnswer, type OwnAnswer } from './response-head.js';
import { routerErrors } from './errors.js';
import type { CaptureSink, GroupRoute, MetricsSink, RouteTable, VariantTarget } from '../types.js';
import { BodyMode, UpstreamPool, type Exchange, type UpstreamConnection } from './upstream.js';

export interface RouterLimits {
  /** Largest request head (request line and headers); 431 above. */
  maxHeadBytes: number;
  /** A request head must arrive within this long of its first byte (408 after). */
  headersTimeoutMs: number;
  /** A whole request, head and body, must arrive within this long (408 after). */
  requestTimeoutMs: number;
  /** An idle client connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Connections to one variant's model server at most; more requests wait for a free one. */
  upstreamConnections: number;
  /** An idle connection to a model server is closed after this long (sooner if the server says so). */
  upstreamIdleMs: number;
  /** close() waits this long for requests in flight before cutting them off. */
  drainTimeoutMs: number;
}

export const DEFAULT_LIMITS: RouterLimits = {
  maxHeadBytes: 16 * 1024,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 60_000,
  upstreamConnections: 128,
  upstreamIdleMs: 30_000,
  drainTimeoutMs: 10_000,
};

/** SageMaker's limit for a real-time invocation payload. */
export const DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024;

export interface RouterOptions {
  host: string;
  port: number;
  table: RouteTable;
  /** Data Capture; absent = off. */
  capture?: CaptureSink;
  /** Live metrics; absent = off. */
  metrics?: MetricsSink;
  /** Largest request body (413 above); default 6 MB. */
  maxBodyBytes?: number;
  limits?: Partial<RouterLimits>;
  /** Where a router bug on one connection is reported (the connection is dropped, the router goes on). */
  log?: Logger;
  /**
   * The serving token (MLP_SERVE_TOKEN): every request but `GET /ping` must carry
   * `Authorization: Bearer <token>` (401 without it), and the header is not passed on to models.
   * Absent: no authentication, and Authorization reaches the model server like any header.
   */
  token?: string;
  /** Times connection timeouts, idle model connections and the arrival time of invocations. Default: the system clock. */
  clock?: WallClock;
}

export interface Router {
  port: number;
  /** Stops accepting, lets requests in flight finish (bounded by drainTimeoutMs), closes model connections. */
  close(): Promise<void>;
}

/** The router of one worker process (worker.ts), which can also go down at once. */
export interface WorkerRouter extends Router {
  /** Stops accepting and answers every request in flight with a 502 saying `message` (the process is about to exit). */
  failInFlight(message: string): void;
}

export async function startRouter(opts: RouterOptions): Promise<WorkerRouter> {
  const router = new RouterCore(opts);
  const port = await listen(router.server, 'model traffic', opts.host, opts.port);
  router.start();
  return { port, close: () => router.close(), failInFlight: (message) => router.failInFlight(message) };
}

interface VariantSlot {
  readonly target: VariantTarget;
  readonly pool: UpstreamPool;
  /** `X-Mlp-Variant: <name>\r\n`, made once. */
  readonly header: string;
  /** The same with SageMaker's `x-Amzn-Invoked-Production-Variant`, for the SageMaker form. */
  readonly sageMakerHeader: string;
}

type Picker = GroupPicker<VariantSlot>;

const SWEEP_MS = 500;
/** After a response that closes the connection, how long the client may go on sending before it is cut off. */
const LINGER_MS = 2_000;
/** Pipelined bytes buffered while a request is in flight before reading from the client pauses. */
const PIPELINE_BUFFER = 64 * 1024;
/**
 * Bodies up to this size travel as latin1 strings, like heads. On this path a string write costs
 * less than building a Buffer (every Buffer operation is a call into C++, string work stays in
 * V8), and latin1 maps bytes to chars one to one, so nothing is lost.
 */
const SMALL_BODY_BYTES = 64 * 1024;

class RouterCore implements RouteContext<VariantSlot> {
  readonly server: Server;
  readonly limits: RouterLimits;
  readonly maxBodyBytes: number;
  readonly table: RouteTable;
  readonly capture: CaptureSink | undefined;
  readonly metrics: MetricsSink | undefined;
  readonly log: Logger | undefined;
  readonly token: string | undefined;
  readonly clock: WallClock;
  readonly connections = new Set<ClientConnection>();
  /** The clock's time, read once per sweep: good to SWEEP_MS, enough for the connection timeouts. */
  now: number;
  closing = false;
  private readonly pools = new Map<string, UpstreamPool>();
  private readonly pickers = new Map<string, Map<string, Picker>>();
  private readonly deadlineLists = new Map<number, DeadlineList>();
  private generation = Number.NaN;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly idPrefix = randomBytes(4).toString('hex') + '-';
  private idCounter = 0;
  private drained: (() => void) | undefined;
  private sinkErrors = 0;

  constructor(opts: RouterOptions) {
    this.table = opts.table;
    this.capture = opts.capture;
    this.metrics = opts.metrics;
    this.log = opts.log;
    this.token = opts.token;
    this.clock = opts.clock ?? systemClock;
    this.now = this.clock.now();
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) => {
      if (this.closing) return void socket.destroy();
      this.connections.add(new ClientConnection(this, socket));
    });
  }

  start(): void {
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  nextInferenceId(): string {
    return this.idPrefix + (++this.idCounter).toString(36);
  }

  /** The picker for a group, rebuilt whenever the route table's generation moves. */
  picker(route: GroupRoute): Picker {
    const generation = this.table.generation;
    if (generation !== this.generation) {
      this.pickers.clear();
      this.generation = generation;
    }
    let groups = this.pickers.get(route.pipeline);
    if (groups === undefined) this.pickers.set(route.pipeline, (groups = new Map()));
    let picker = groups.get(route.group);
    if (picker === undefined) {
      const slots = route.variants.map((target) => ({
        target,
        pool: this.pool(target),
        header: `X-Mlp-Variant: ${target.name}\r\n`,
        sageMakerHeader: `X-Mlp-Variant: ${target.name}\r\nx-Amzn-Invoked-Production-Variant: ${target.name}\r\n`,
      }));
      groups.set(route.group, (picker = new GroupPicker(route, slots)));
    }
    return picker;
  }

  deadlines(timeoutMs: number): DeadlineList {
    let list = this.deadlineLists.get(timeoutMs);
    if (list === undefined) this.deadlineLists.set(timeoutMs, (list = new DeadlineList(timeoutMs)));
    return list;
  }

  /** A capture or metrics sink threw (against its contract): the request is answered all the same. */
  sinkFailed(err: unknown): void {
    if (this.sinkErrors++ === 0 || this.sinkErrors % 10_000 === 0) {
      this.log?.error(
        'router',
        `a capture or metrics sink failed (${this.sinkErrors} times so far): ${(err as Error)?.message ?? String(err)}`,
      );
    }
  }

  connectionClosed(conn: ClientConnection): void {
    this.connections.delete(conn);
    if (this.drained !== undefined && this.connections.size === 0) this.drained();
  }

  failInFlight(message: string): void {
    this.closing = true;
    this.server.close();
    for (const conn of this.connections) conn.failInFlight(message);
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const conn of this.connections) conn.shutdown();
    if (this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
        setTimeout(resolve, this.limits.drainTimeoutMs).unref();
      });
      for (const conn of this.connections) {
        conn.dropExchange();
        conn.destroy();
      }
    }
    await stopped;
    clearInterval(this.sweeper);
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }

  private pool(target: VariantTarget): UpstreamPool {
    const key = `${target.host}:${target.port}`;
    let pool = this.pools.get(key);
    if (pool === undefined || pool.closed) {
      pool = new UpstreamPool(target.host, target.port, this.limits.upstreamConnections, this.limits.upstreamIdleMs, this.clock);
      this.pools.set(key, pool);
    }
    return pool;
  }

  private sweep(): void {
    const now = (this.now = this.clock.now());
    for (const conn of this.connections) conn.checkTimeouts(now);
    let inUse: Set<UpstreamPool> | undefined;
    for (const [key, pool] of this.pools) {
      if (!pool.sweep(now)) continue;
      // An empty pool no current route uses is dropped; one still in use is simply made again. The pools in
      // use are gathered once per sweep: asking every picker per pool would cost the square of the fleet.
      inUse ??= this.poolsInUse();
      if (!inUse.has(pool)) this.pools.delete(key);
    }
  }

  private poolsInUse(): Set<UpstreamPool> {
    const used = new Set<UpstreamPool>();
    for (const groups of this.pickers.values()) for (const picker of groups.values()) for (const s of picker.slots) used.add(s.pool);
    return used;
  }
}

/**
 * The exchanges in flight with one timeout length, oldest first. An exchange joins at the end when
 * it starts, so the list is in deadline order and one timer for its head is enough: per request
 * this is a few pointer writes instead of a timer object.
 */
class DeadlineList {
  private oldest: ClientConnection | null = null;
  private newest: ClientConnection | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly timeoutMs: number) {}

  add(conn: ClientConnection, now: number): void {
    conn.deadlines = this;
    conn.deadline = now + this.timeoutMs;
    conn.older = this.newest;
    conn.newer = null;
    if (this.newest !== null) this.newest.newer = conn;
    else this.oldest = conn;
    this.newest = conn;
    if (this.timer === null) this.arm(this.timeoutMs);
  }

  remove(conn: ClientConnection): void {
    if (conn.older !== null) conn.older.newer = conn.newer;
    else this.oldest = conn.newer;
    if (conn.newer !== null) conn.newer.older = conn.older;
    else this.newest = conn.older;
    conn.older = conn.newer = null;
    conn.deadlines = null;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.expire(), Math.max(1, Math.ceil(ms)));
    this.timer.unref();
  }

  private expire(): void {
    this.timer = null;
    const now = performance.now();
    while (this.oldest !== null && this.oldest.deadline <= now) {
      const conn = this.oldest;
      this.remove(conn);
      conn.timedOut();
    }
    if (this.oldest !== null) this.arm(this.oldest.deadline - now);
  }
}

/** What the client connection is doing. */
const IDLE = 0;
const HEAD = 1;
const BODY = 2;
const PROXY = 3;
const CLOSING = 4;

/**
 * One client connection, and the one exchange it has in flight (HTTP/1.1 answers in order, so
 * pipelined requests wait their turn in `pending`).
 */
class ClientConnection implements Exchange {
  private phase = IDLE;
  private phaseSince: number;
  private pending: Buffer | null = null;
  private searchFrom = 0;
  private parsing = false;
  private paused = false;
  private awaitingDrain = false;
  /** The client half-closed: answer what it sent, then close. */
  private ended = false;
  private destroyed = false;
  private readonly head = new RequestHead();
  private readonly paths = new PathMemo();
  // The request body, in whichever forms it came: latin1 text (small bodies, chunked bodies),
  // bytes assembled from several reads (large bodies), or where it sits in the one read that held it.
  private bodyText: string | null = null;
  private body: Buffer | null = null;
  private bodyFill = 0;
  private bodyLength = 0;
  private bodyParts: string[] | null = null;
  private decoder: ChunkedDecoder | null = null;

  // The exchange in flight.
  private route: GroupRoute | null = null;
  private slot: VariantSlot | null = null;
  /** The slot's header for this request's form. */
  private variantHeader = '';
  /** SageMaker form: the model answered non-2xx, and the client gets a ModelError instead. */
  private modelFailed = false;
  private at = 0;
  private started = 0;
  private inferenceId = '';
  private sampled = false;
  private retried = false;
  /** While an exchange is in flight: the list that times it out (see DeadlineList). */
  deadlines: DeadlineList | null = null;
  deadline = 0;
  newer: ClientConnection | null = null;
  older: ClientConnection | null = null;
  private upstreamPaused = false;
  private responseStatus = 0;
  private responseContentType: string | undefined = undefined;
  /** The response head for the client, until it goes out with the first body bytes. */
  private responseHead: string | null = null;
  private headSent = false;
  /** The response is collected and sent whole with a Content-Length (see onUpstreamHead). */
  private buffered = false;
  private bufferedStatus = '';
  private bufferedLines = '';
  queuedIn: UpstreamPool | null = null;
  upstream: UpstreamConnection | null = null;
  upstreamRequest = '';
  upstreamBody: Buffer | null = null;
  responseParts: string[] | null = null;

  private readonly socket: Socket;

  constructor(
    private readonly router: RouterCore,
    accepted: Socket,
  ) {
    this.phaseSince = router.now;
    this.head.readsAuthorization = router.token !== undefined;
    const socket = (this.socket = adoptClientSocket(accepted, (chunk) => {
      try {
        this.onData(chunk);
        // The read buffer is shared: what waits for a later turn (a pipelined request, a partial head) is copied.
        if (this.pending !== null && inReadBuffer(this.pending)) this.pending = Buffer.from(this.pending);
      } catch (err) {
        this.bug(err);
      }
      return true;
    }));
    socket.on('end', () => this.onEnd());
    socket.on('drain', () => {
      if (this.upstreamPaused) {
        this.upstreamPaused = false;
        this.upstream?.resume();
      }
      if (this.awaitingDrain) {
        this.awaitingDrain = false;
        this.nextRequest();
      }
    });
    socket.on('error', () => this.destroy());
    socket.on('close', () => {
      this.destroyed = true;
      // A request still waiting for a model connection never reached a model: drop it. One that
      // did runs to its end, so the model connection stays reusable and metrics see it.
      if (this.queuedIn !== null) this.dropExchange();
      router.connectionClosed(this);
    });
  }

  /** close(): idle connections go now, the others after their current answer. */
  shutdown(): void {
    if (this.phase === IDLE && this.pending === null) this.destroy();
  }

  destroy(): void {
    this.destroyed = true;
    this.socket.destroy();
  }

  /** The router goes down at once (a worker's fatal error): the exchange in flight is answered 502, as when its model connection fails. */
  failInFlight(message: string): void {
    if (this.slot === null) return;
    this.queuedIn = null;
    this.upstream?.abort();
    this.upstream = null;
    this.failExchange(502, message);
  }

  /** Gives up the exchange in flight without answering or counting it (close() ran out of time). */
  dropExchange(): void {
    this.queuedIn = null;
    this.deadlines?.remove(this);
    this.upstream?.abort();
    this.upstream = null;
    this.route = null;
    this.slot = null;
  }

  checkTimeouts(now: number): void {
    const { limits } = this.router;
    const waited = now - this.phaseSince;
    switch (this.phase) {
      case IDLE:
        if (waited > limits.keepAliveTimeoutMs) this.destroy();
        return;
      case HEAD:
        if (waited > limits.headersTimeoutMs) this.fatal(408, routerErrors.headTimedOut(limits.headersTimeoutMs));
        return;
      case BODY:
        if (waited > limits.requestTimeoutMs) this.fatal(408, routerErrors.requestTimedOut(limits.requestTimeoutMs));
        return;
      case CLOSING:
        if (waited > LINGER_MS) this.destroy();
        return;
    }
  }

  private onData(chunk: Buffer): void {
    if (this.phase === CLOSING) return; // lingering after an error: read and drop, so the client sees our answer
    this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.phase === PROXY) {
      if (!this.paused && this.pending.length > PIPELINE_BUFFER) {
        this.paused = true;
        this.socket.pause();
      }
      return;
    }
    this.parse();
  }

  private onEnd(): void {
    this.ended = true;
    if (this.phase === IDLE && this.pending === null) this.socket.end();
    else if (this.phase === HEAD || this.phase === BODY) this.destroy(); // the request will never be complete
  }

  private parse(): void {
    if (this.parsing) return; // re-entered from an answer given synchronously: the loop below goes on
    this.parsing = true;
    try {
      while (this.pending !== null && !this.destroyed) {
        if (this.phase === IDLE || this.phase === HEAD) {
          if (!this.readHead()) break;
        } else if (this.phase === BODY) {
          if (!this.readBody()) break;
        } else break;
      }
    } finally {
      this.parsing = false;
    }
  }

  /** Reads a request head; true when the loop should go on with what is left. */
  private readHead(): boolean {
    let buf = this.pending!;
    const { limits } = this.router;
    if (this.phase === IDLE) {
      let i = 0;
      while (i < buf.length && (buf[i] === 13 || buf[i] === 10)) i++; // empty lines between requests (RFC 9112 §2.2)
      if (i === buf.length) {
        this.pending = null;
        return false;
      }
      if (i > 0) this.pending = buf = buf.subarray(i);
      this.phase = HEAD;
      this.phaseSince = this.router.now;
      this.searchFrom = 0;
    }
    // One conversion per request covers the head and, usually, the whole body.
    const text = buf.toString('latin1', 0, Math.min(buf.length, limits.maxHeadBytes + SMALL_BODY_BYTES));
    const end = text.indexOf('\r\n\r\n', this.searchFrom);
    if (end < 0 || end + 4 > limits.maxHeadBytes) {
      if (buf.length > limits.maxHeadBytes) this.fatal(431, routerErrors.headTooLarge(limits.maxHeadBytes));
      else this.searchFrom = Math.max(0, buf.length - 3);
      return false;
    }
    const head = this.head;
    const problem = parseRequestHead(text, end + 2, head);
    if (problem !== null) {
      this.fatal(400, routerErrors.malformedRequest(problem));
      return false;
    }
    this.at = this.router.clock.now();
    this.started = performance.now();
    this.bodyText = null;
    this.body = null;
    const rest = end + 4;
    const max = this.router.maxBodyBytes;
    if (head.chunked) {
      (this.decoder ??= new ChunkedDecoder()).reset();
      this.bodyParts = [];
      this.phase = BODY;
      this.pending = rest < buf.length ? buf.subarray(rest) : null;
      if (this.pending === null && head.expectContinue) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
      return true;
    }
    const length = head.contentLength < 0 ? 0 : head.contentLength;
    if (length > max) {
      this.fatal(413, routerErrors.bodyTooLarge(length, max), head.sageMaker);
      return false;
    }
    this.bodyLength = length;
    if (rest + length <= text.length) {
      this.bodyText = length === 0 ? '' : text.slice(rest, rest + length);
      this.pending = rest + length < buf.length ? buf.subarray(rest + length) : null;
      this.dispatch();
      return true;
    }
    this.body = Buffer.allocUnsafe(length);
    this.bodyFill = buf.copy(this.body, 0, rest);
    this.pending = null;
    this.phase = BODY;
    if (head.expectContinue && this.bodyFill === 0) this.socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
    return false;
  }

  private readBody(): boolean {
    const buf = this.pending!;
    if (this.head.chunked) {
      const decoder = this.decoder!;
      const text = buf.toString('latin1');
      const end = decoder.feed(text, 0, text.length, this.bodyParts);
      if (end === -2) {
        this.fatal(400, routerErrors.malformedChunkedBody(decoder.error));
        return false;
      }
      if (decoder.size > this.router.maxBodyBytes) {
        this.fatal(413, routerErrors.chunkedBodyTooLarge(this.router.maxBodyBytes), this.head.sageMaker);
        return false;
      }
      if (end === -1) {
        this.pending = null;
        return false;
      }
      this.bodyText = this.bodyParts!.join('');
      this.bodyLength = this.bodyText.length;
      this.bodyParts = null;
      this.pending = end < buf.length ? buf.subarray(end) : null;
      this.dispatch();
      return true;
    }
    const body = this.body!;
    const n = Math.min(body.length - this.bodyFill, buf.length);
    buf.copy(body, this.bodyFill, 0, n);
    this.bodyFill += n;
    if (this.bodyFill < body.length) {
      this.pending = null;
      return false;
    }
    if (body.length <= SMALL_BODY_BYTES) this.bodyText = body.toString('latin1');
    this.pending = n < buf.length ? buf.subarray(n) : null;
    this.dispatch();
    return true;
  }

  /** The request body as latin1 text (for the JSON check of the route decision). */
  private readonly bodyAsText = (): string => this.bodyText ?? this.body!.toString('latin1');

  /** The request body as bytes (for Data Capture). */
  private requestBytes(): Buffer {
    if (this.body !== null) return this.body;
    return Buffer.from(this.bodyText ?? '', 'latin1');
  }

  /** A whole request is in: route it, or answer it here. */
  private dispatch(): void {
    this.phase = PROXY;
    const head = this.head;
    const decision = decideRoute(head, this.paths, this.bodyAsText, this.router);
    if (decision.kind === 'ping') return this.reply(jsonAnswer(200, PING_BODY));
    if (decision.kind === 'reply') return this.reply(errorAnswer(decision.status, decision.message, head.sageMaker, decision.headers));
    const { picker, slot } = decision;
    const route = picker.route;
    const id = head.inferenceId || this.router.nextInferenceId();
    this.route = route;
    this.slot = slot;
    this.variantHeader = head.sageMaker ? slot.sageMakerHeader : slot.header;
    this.modelFailed = false;
    this.inferenceId = id;
    this.sampled = this.router.capture !== undefined && picker.sample();
    this.retried = false;
    this.headSent = false;
    this.buffered = false;
    this.responseHead = null;
    this.responseParts = this.sampled ? [] : null;
    const upstreamHead = `POST ${slot.target.invocationsPath ?? '/invocations'} HTTP/1.1\r\nHost: ${slot.pool.hostHeader}\r\nContent-Length: ${this.bodyLength}\r\nX-Mlp-Inference-Id: ${id}\r\n${head.forward}\r\n`;
    if (this.bodyText !== null) {
      this.upstreamRequest = upstreamHead + this.bodyText;
      this.upstreamBody = null;
    } else {
      this.upstreamRequest = upstreamHead;
      this.upstreamBody = this.body;
    }
    this.router.deadlines(route.timeoutMs).add(this, performance.now());
    slot.pool.dispatch(this);
  }

  // Exchange: called by the upstream connection.

  onUpstreamHead(head: ResponseHead, mode: BodyMode): void {
    this.responseStatus = head.status;
    this.responseContentType = head.contentType;
    // A SageMaker client gets a model's failure as a ModelError carrying its answer: collected whole.
    if (this.head.sageMaker && (head.status < 200 || head.status > 299)) {
      this.modelFailed = true;
      this.buffered = true;
      this.responseParts ??= [];
      return;
    }
    // An HTTP/1.0 client cannot take a chunked body, and a body that ends at close would end our
    // connection to the client too: both are collected and sent whole with a Content-Length.
    if (mode === BodyMode.Close || (mode === BodyMode.Chunked && this.head.minor === 0)) {
      this.buffered = true;
      this.responseParts ??= [];
      this.bufferedStatus = head.statusText;
      this.bufferedLines = unframedLines(head);
      return;
    }
    this.responseHead = responseHead(head.statusText, head.forward, this.exchangeTail());
  }

  onUpstreamBody(data: string): void {
    if (this.buffered || this.destroyed) return;
    let ok: boolean;
    if (this.responseHead !== null) {
      ok = this.socket.write(this.responseHead + data, 'latin1');
      this.responseHead = null;
      this.headSent = true;
    } else ok = this.socket.write(data, 'latin1');
    if (!ok && this.upstream !== null) {
      this.upstreamPaused = true;
      this.upstream.pause();
    }
  }

  onUpstreamEnd(): void {
    const parts = this.responseParts;
    const body = parts === null ? '' : parts.length === 1 ? parts[0]! : parts.join('');
    if (!this.destroyed) {
      if (this.modelFailed) {
        const answer = variantFailureAnswer(
          this.slot!.target.name,
          this.responseStatus,
          Buffer.from(body, 'latin1').toString('utf8'),
          true,
        );
        this.socket.write(ownResponse(answer, this.exchangeTail()), 'utf8');
      } else if (this.buffered) {
        this.socket.write(
          responseHead(this.bufferedStatus, `${this.bufferedLines}Content-Length: ${body.length}\r\n`, this.exchangeTail()) + body,
          'latin1',
        );
      } else if (this.responseHead !== null) {
        this.socket.write(this.responseHead, 'latin1');
        this.responseHead = null;
      }
    }
    this.finishExchange(this.responseStatus, body, 'latin1', this.responseContentType);
  }

  onUpstreamError(message: string, retryable: boolean): void {
    this.upstream = null;
    if (this.slot === null) return;
    if (retryable && !this.retried && !this.router.closing) {
      this.retried = true; // once, and only because no byte of the request reached the model server
      this.slot.pool.dispatch(this, true);
      return;
    }
    this.failExchange(502, routerErrors.variantFailed(this.slot.target.name, this.route!, message));
  }

  timedOut(): void {
    if (this.slot === null) return;
    this.queuedIn = null;
    if (this.upstream !== null) {
      this.upstream.abort();
      this.upstream = null;
    }
    this.failExchange(504, routerErrors.variantTimedOut(this.slot.target.name, this.route!));
  }

  /** The router's own answer to a request it sent to a variant (502, 504). */
  private failExchange(status: number, message: string): void {
    const answer = variantFailureAnswer(this.slot!.target.name, status, message, this.head.sageMaker);
    if (this.headSent)
      this.destroy(); // part of the model's answer is out: cutting the connection is the only honest signal
    else if (!this.destroyed) this.socket.write(ownResponse(answer, this.exchangeTail()), 'utf8');
    // What the client was told, as capture and metrics see it: the mlp form's status and error.
    this.finishExchange(status, JSON.stringify({ error: message }), 'utf8', 'application/json');
  }

  private finishExchange(status: number, responseBody: string, encoding: 'latin1' | 'utf8', responseContentType: string | undefined): void {
    this.deadlines?.remove(this);
    const route = this.route!;
    const slot = this.slot!;
    const latencyMs = performance.now() - this.started;
    try {
      this.router.metrics?.observe(route.pipeline, route.group, slot.target.name, status, latencyMs, this.at);
      if (this.sampled) {
        this.router.capture!.record({
          pipeline: route.pipeline,
          group: route.group,
          variant: slot.target.name,
          at: this.at,
          latencyMs,
          status,
          requestBody: this.requestBytes(),
          requestContentType: this.head.contentType,
          responseBody: Buffer.from(responseBody, encoding),
          responseContentType,
          inferenceId: this.inferenceId,
        });
      }
    } catch (err) {
      this.router.sinkFailed(err);
    }
    this.route = null;
    this.slot = null;
    this.upstream = null;
    this.upstreamPaused = false;
    this.responseParts = null;
    this.responseStatus = 0;
    this.clearBody();
    this.nextRequest();
  }

  private connectionHeader(): string {
    if (!this.head.keepAlive || this.router.closing) return 'Connection: close\r\n';
    return this.head.minor === 0 ? 'Connection: keep-alive\r\n' : '';
  }

  private clearBody(): void {
    this.bodyText = null;
    this.body = null;
    this.upstreamRequest = '';
    this.upstreamBody = null;
  }

  /** Variant and inference id, then Connection: what the router adds to an exchange's response head. */
  private exchangeTail(): string {
    return `${this.variantHeader}X-Mlp-Inference-Id: ${this.inferenceId}\r\n${this.connectionHeader()}`;
  }

  /** An answer the router gives without a variant (routing errors, /ping). */
  private reply(answer: OwnAnswer): void {
    if (!this.destroyed) this.socket.write(ownResponse(answer, this.connectionHeader()), 'utf8');
    this.clearBody();
    this.nextRequest();
  }

  /**
   * A request the connection cannot recover from (its framing is lost): answer, then close.
   * `sageMaker` when the head was read and is the SageMaker form.
   */
  private fatal(status: number, message: string, sageMaker = false): void {
    if (this.destroyed) return;
    this.socket.write(ownResponse(errorAnswer(status, message, sageMaker), 'Connection: close\r\n'), 'utf8');
    this.closeSoon();
  }

  private closeSoon(): void {
    this.phase = CLOSING;
    this.phaseSince = this.router.now;
    this.pending = null;
    this.bodyParts = null;
    this.clearBody();
    this.socket.end();
    if (this.paused) this.socket.resume();
  }

  private nextRequest(): void {
    if (this.destroyed) return;
    if (!this.head.keepAlive || this.router.closing || (this.ended && this.pending === null)) {
      this.closeSoon();
      return;
    }
    this.phase = IDLE;
    this.phaseSince = this.router.now;
    if (this.socket.writableLength > PIPELINE_BUFFER) {
      // A client that pipelines requests but does not read the answers: stop reading until it does.
      this.awaitingDrain = true;
      if (!this.paused) {
        this.paused = true;
        this.socket.pause();
      }
      return;
    }
    if (this.paused) {
      this.paused = false;
      this.socket.resume();
    }
    if (this.pending !== null) this.parse();
  }

  private bug(err: unknown): void {
    this.router.log?.error('router', `dropped a client connection after an internal error: ${(err as Error)?.stack ?? String(err)}`);
    this.destroy();
  }
}
