/**
 * The few pieces of HTTP/1.1 (RFC 9112) the router parses itself: request heads, response heads and
 * chunked framing. Only what a proxy needs to find message boundaries and the headers it acts on;
 * every other header line is kept verbatim and forwarded. Heads are parsed from a latin1 string so
 * that forwarded bytes round-trip exactly.
 */

/** Control characters other than HTAB (RFC 9110 §5.5); in a request target, any of them is an error. */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Field names are tokens (RFC 9110 §5.6.2). */
const TOKEN_CHARS = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN_CHARS[c.charCodeAt(0)] = 1;

// The header fields the router acts on. Hop-by-hop fields (RFC 9110 §7.6.1) and the ones the router
// sets itself are never forwarded.
const OTHER = 0;
const CONTENT_LENGTH = 1;
const TRANSFER_ENCODING = 2;
const CONNECTION = 3;
const EXPECT = 4;
const CONTENT_TYPE = 5;
const MLP_GROUP = 6;
const MLP_TARGET_VARIANT = 7;
const MLP_INFERENCE_ID = 8;
const MLP_VARIANT = 9;
const HOST = 10;
const KEEP_ALIVE = 11;
const HOP_BY_HOP = 12;
const AUTHORIZATION = 13;
// InvokeEndpoint as the AWS SDKs send it (sagemaker-runtime.ts): X-Amz-Date comes with every
// SigV4-signed request, the X-Amzn-SageMaker-* headers with the parameters that use them.
const AMZ_DATE = 14;
const SAGEMAKER_TARGET_VARIANT = 15;
const SAGEMAKER_TARGET_MODEL = 16;
const SAGEMAKER_INFERENCE_ID = 17;

const FIELDS: [string, number][] = [
  ['content-length', CONTENT_LENGTH],
  ['transfer-encoding', TRANSFER_ENCODING],
  ['connection', CONNECTION],
  ['expect', EXPECT],
  ['content-type', CONTENT_TYPE],
  ['x-mlp-group', MLP_GROUP],
  ['x-mlp-target-variant', MLP_TARGET_VARIANT],
  ['x-mlp-inference-id', MLP_INFERENCE_ID],
  ['x-mlp-variant', MLP_VARIANT],
  ['host', HOST],
  ['keep-alive', KEEP_ALIVE],
  ['proxy-connection', HOP_BY_HOP],
  ['te', HOP_BY_HOP],
  ['trailer', HOP_BY_HOP],
  ['upgrade', HOP_BY_HOP],
  ['authorization', AUTHORIZATION],
  ['x-amz-date', AMZ_DATE],
  ['x-amzn-sagemaker-target-variant', SAGEMAKER_TARGET_VARIANT],
  ['x-amzn-sagemaker-target-model', SAGEMAKER_TARGET_MODEL],
  ['x-amzn-sagemaker-inference-id', SAGEMAKER_INFERENCE_ID],
];
const FIELDS_BY_LENGTH: [string, number][][] = [];
for (const f of FIELDS) (FIELDS_BY_LENGTH[f[0].length] ??= []).push(f);

/**
 * Which known field `text[start..end)` names, case-insensitively, without making a string: this
 * runs for every header line of every request and response. `| 0x20` lower-cases letters and
 * turns no other token character into a letter or '-' (request names are checked to be tokens;
 * from a model server, only a stray CR could pass for '-').
 */
function fieldOf(text: string, start: number, end: number): number {
  const candidates = FIELDS_BY_LENGTH[end - start];
  if (candidates === undefined) return OTHER;
  next: for (const [name, id] of candidates) {
    for (let i = 0; i < name.length; i++) if ((text.charCodeAt(start + i) | 0x20) !== name.charCodeAt(i)) continue next;
    return id;
  }
  return OTHER;
}

function isToken(text: string, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= 128 || TOKEN_CHARS[c] === 0) return false;
  }
  return true;
}

const valueOf = (text: string, colon: number, lineEnd: number) => text.slice(colon + 1, lineEnd).trim();

/** A field value that is a non-negative decimal (Content-Length), read in place; -1 when it is not one. */
function decimalOf(text: string, start: number, end: number): number {
  while (start < end && (text.charCodeAt(start) === 32 || text.charCodeAt(start) === 9)) start++;
  while (end > start && (text.charCodeAt(end - 1) === 32 || text.charCodeAt(end - 1) === 9)) end--;
  if (end === start || end - start > 15) return -1;
  let n = 0;
  for (let i = start; i < end; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** The parsed head of one client request; one instance per client connection, reset per request. */
export class RequestHead {
  method = '';
  /** The request target as sent (origin form, with any query). */
  target = '';
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor = 1;
  /** -1 when absent. */
  contentLength = -1;
  chunked = false;
  keepAlive = true;
  expectContinue = false;
  contentType: string | undefined = undefined;
  group: string | undefined = undefined;
  targetVariant: string | undefined = undefined;
  inferenceId: string | undefined = undefined;
  /** The request is InvokeEndpoint as a SageMaker runtime client sends it: it is answered in SageMaker's shapes. */
  sageMaker = false;
  /** `X-Amzn-SageMaker-Target-Model`: the group, as a multi-model endpoint's model. */
  targetModel: string | undefined = undefined;
  /**
   * Set when the router checks a serving token: `Authorization` is then read into `authorization`
   * and kept from the model server. Otherwise the header is forwarded like any other.
   */
  readsAuthorization = false;
  authorization: string | undefined = undefined;
  /** Header lines to forward to the model server, each ending in CRLF. */
  forward = '';
}

/** The parsed head of one model server response. */
export class ResponseHead {
  status = 0;
  /** The status line without its version: `200 OK`. */
  statusText = '';
  minor = 1;
  contentLength = -1;
  chunked = false;
  /** Whether the connection may carry another request after this response. */
  reusable = true;
  /** From `Keep-Alive: timeout=N`, in ms; 0 when the server did not say. */
  keepAliveMs = 0;
  contentType: string | undefined = undefined;
  /** Header lines for the client (hop-by-hop fields removed), each ending in CRLF. */
  forward = '';
}

/** `forward` without Transfer-Encoding, for a client that gets the body de-chunked (rare: made on demand). */
export function unframedLines(head: ResponseHead): string {
  return head.chunked ? head.forward.replace(/^transfer-encoding:[^\r]*\r\n/gim, '') : head.forward;
}

/**
 * Parses a model server's response head `text[start..end)` (`end` just after the CRLF of its last
 * header line); returns what is wrong with it, or null.
 */
export function parseResponseHead(text: string, start: number, end: number, into: ResponseHead): string | null {
  into.contentLength = -1;
  into.chunked = false;
  into.keepAliveMs = 0;
  into.contentType = undefined;

  let lineEnd = text.indexOf('\r\n', start);
  if (!text.startsWith('HTTP/1.', start) || text.charCodeAt(start + 8) !== 32 || lineEnd < start + 12) return 'malformed status line';
  const minor = text.charCodeAt(start + 7) - 48;
  const d1 = text.charCodeAt(start + 9) - 48;
  const d2 = text.charCodeAt(start + 10) - 48;
  const d3 = text.charCodeAt(start + 11) - 48;
  if ((minor !== 0 && minor !== 1) || d1 < 1 || d1 > 9 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9) return 'malformed status line';
  if (lineEnd > start + 12 && text.charCodeAt(start + 12) !== 32) return 'malformed status line';
  into.minor = minor;
  into.status = d1 * 100 + d2 * 10 + d3;
  into.statusText = text.slice(start + 9, lineEnd);

  let close = false;
  let keepAlive = false;
  let forward = '';
  let keptFrom = lineEnd + 2;
  for (let p = lineEnd + 2; p < end; p = lineEnd + 2) {
    lineEnd = text.indexOf('\r\n', p);
    const colon = text.indexOf(':', p);
    if (colon <= p || colon > lineEnd) return 'malformed header line';
    const field = fieldOf(text, p, colon);
    if (field === OTHER || field >= AUTHORIZATION) continue; // a request's Authorization and SageMaker headers only matter in requests
    if (field === CONTENT_TYPE) {
      into.contentType = valueOf(text, colon, lineEnd);
      continue;
    }
    if (field === CONTENT_LENGTH) {
      const n = decimalOf(text, colon + 1, lineEnd);
      if (n < 0) return `invalid Content-Length '${valueOf(text, colon, lineEnd).slice(0, 20)}'`;
      into.contentLength = n;
      continue;
    }
    if (field === TRANSFER_ENCODING) {
      if (valueOf(text, colon, lineEnd).toLowerCase() !== 'chunked') return 'unsupported Transfer-Encoding';
      into.chunked = true;
      continue;
    }
    if (field === CONNECTION) {
      const value = text.slice(colon + 1, lineEnd).toLowerCase();
      if (hasToken(value, 'close')) close = true;
      else if (hasToken(value, 'keep-alive')) keepAlive = true;
    } else if (field === KEEP_ALIVE) {
      const at = text.indexOf('timeout=', colon);
      if (at > 0 && at < lineEnd) {
        let digitsEnd = at + 8;
        while (digitsEnd < lineEnd && text.charCodeAt(digitsEnd) >= 48 && text.charCodeAt(digitsEnd) <= 57) digitsEnd++;
        const seconds = decimalOf(text, at + 8, digitsEnd);
        if (seconds > 0) into.keepAliveMs = seconds * 1000;
      }
    }
    // dropped (hop-by-hop, or set by the router): close the run of kept lines before it
    if (p > keptFrom) forward += text.slice(keptFrom, p);
    keptFrom = lineEnd + 2;
  }
  if (end > keptFrom) forward += text.slice(keptFrom, end);
  into.forward = forward;
  if (into.chunked) into.contentLength = -1;
  into.reusable = minor === 1 ? !close : keepAlive && !close;
  return null;
}

/**
 * Parses the request head `text[0..end)` (`end` just after the CRLF of its last header line; the
 * text may go on with the body) into `into`; returns what is wrong with it, or null.
 */
export function parseRequestHead(text: string, end: number, into: RequestHead): string | null {
  into.contentLength = -1;
  into.chunked = false;
  into.expectContinue = false;
  into.contentType = undefined;
  into.group = undefined;
  into.targetVariant = undefined;
  into.inferenceId = undefined;
  into.sageMaker = false;
  into.targetModel = undefined;
  into.authorization = undefined;
  into.forward = '';

  let lineEnd = text.indexOf('\r\n');
  const sp1 = text.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : text.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || sp2 > lineEnd || !isToken(text, 0, sp1)) return 'malformed request line';
  if (text.startsWith('HTTP/1.1', sp2 + 1) && sp2 + 9 === lineEnd) into.minor = 1;
  else if (text.startsWith('HTTP/1.0', sp2 + 1) && sp2 + 9 === lineEnd) into.minor = 0;
  else return `unsupported protocol '${text.slice(sp2 + 1, Math.min(lineEnd, sp2 + 21))}': speak HTTP/1.1`;
  into.method = sp1 === 4 && text.startsWith('POST') ? 'POST' : text.slice(0, sp1);
  into.target = text.slice(sp1 + 1, sp2);
  if (text.charCodeAt(sp1 + 1) !== 47 /* / */ || CONTROL.test(into.target)) return 'malformed request target';
  // A NUL, or a CR or LF that is not part of a CRLF, would let a client smuggle header lines through
  // to the model server (RFC 9110 §5.5: reject them). Lines are checked as they are split below.
  const nul = text.indexOf('\0');
  if (nul >= 0 && nul < end) return 'NUL in the request head';

  let connection: string | undefined;
  let transferEncoding: string | undefined;
  let forward = '';
  let keptFrom = lineEnd + 2; // kept lines are copied in runs: usually one or two slices per head
  for (let start = lineEnd + 2; start < end; start = lineEnd + 2) {
    lineEnd = text.indexOf('\r\n', start);
    const colon = text.indexOf(':', start);
    if (colon < 0 || colon > lineEnd || !isToken(text, start, colon))
      return colon === start || colon < 0 || colon > lineEnd ? 'malformed header line' : 'malformed header name';
    if (text.indexOf('\n', colon) !== lineEnd + 1 || text.indexOf('\r', colon) !== lineEnd)
      return `a bare CR or LF in header ${text.slice(start, colon)}`;
    const field = fieldOf(text, start, colon);
    if (field === OTHER) continue;
    switch (field) {
      case CONTENT_LENGTH: {
        const n = decimalOf(text, colon + 1, lineEnd);
        if (n < 0) return `invalid Content-Length '${valueOf(text, colon, lineEnd).slice(0, 20)}'`;
        if (into.contentLength >= 0 && into.contentLength !== n) return 'conflicting Content-Length headers';
        into.contentLength = n;
        break;
      }
      case TRANSFER_ENCODING: {
        const value = valueOf(text, colon, lineEnd);
        transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
        break;
      }
      case CONNECTION: {
        const value = valueOf(text, colon, lineEnd);
        connection = connection === undefined ? value : `${connection}, ${value}`;
        break;
      }
      case EXPECT: {
        const value = valueOf(text, colon, lineEnd);
        if (value.toLowerCase() !== '100-continue') return `unsupported Expect '${value.slice(0, 30)}'`;
        into.expectContinue = true;
        break;
      }
      case CONTENT_TYPE:
        into.contentType = valueOf(text, colon, lineEnd);
        continue;
      case MLP_GROUP:
        into.group = valueOf(text, colon, lineEnd);
        continue;
      case MLP_TARGET_VARIANT:
        into.targetVariant = valueOf(text, colon, lineEnd);
        continue;
      case MLP_VARIANT:
        continue;
      case MLP_INFERENCE_ID:
        into.inferenceId = valueOf(text, colon, lineEnd);
        break;
      case AUTHORIZATION:
        if (!into.readsAuthorization) continue;
        into.authorization = valueOf(text, colon, lineEnd);
        break;
      // SageMaker's headers reach the model server as they do on SageMaker.
      case AMZ_DATE:
        into.sageMaker = true;
        continue;
      case SAGEMAKER_TARGET_VARIANT:
        into.sageMaker = true;
        into.targetVariant = valueOf(text, colon, lineEnd);
        continue;
      case SAGEMAKER_TARGET_MODEL:
        into.sageMaker = true;
        into.targetModel = valueOf(text, colon, lineEnd);
        continue;
      case SAGEMAKER_INFERENCE_ID:
        into.sageMaker = true;
        into.inferenceId = valueOf(text, colon, lineEnd);
        continue;
    }
    // a field that is not forwarded: close the run of kept lines before it
    if (start > keptFrom) forward += text.slice(keptFrom, start);
    keptFrom = lineEnd + 2;
  }
  if (end > keptFrom) forward += text.slice(keptFrom, end);
  into.forward = forward;

  if (transferEncoding !== undefined) {
    if (transferEncoding.toLowerCase() !== 'chunked')
      return `unsupported Transfer-Encoding '${transferEncoding.slice(0, 30)}': send Content-Length or chunked`;
    if (into.contentLength >= 0) return 'both Transfer-Encoding and Content-Length: send one';
    if (into.minor === 0) return 'Transfer-Encoding in an HTTP/1.0 request';
    into.chunked = true;
  }
  if (connection === undefined) into.keepAlive = into.minor === 1;
  else {
    const c = connection.toLowerCase();
    into.keepAlive = into.minor === 1 ? !hasToken(c, 'close') : hasToken(c, 'keep-alive');
  }
  return null;
}

function hasToken(list: string, token: string): boolean {
  const i = list.indexOf(token);
  if (i < 0) return false;
  if (list === token) return true;
  return list.split(',').some((t) => t.trim() === token);
}

/** Whether a Content-Type is JSON (`application/json`, `application/*+json`, with any parameters). */
export function isJsonContentType(contentType: string): boolean {
  const semi = contentType.indexOf(';');
  const type = (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

const SIZE = 0;
const EXT = 1;
const SIZE_LF = 2;
const DATA = 3;
const DATA_CR = 4;
const DATA_LF = 5;
const TRAILER_START = 6;
const TRAILER = 7;
const END_LF = 8;
const DONE = 9;

/** Bytes of chunk-size lines, extensions and trailers one message may carry (they are not data). */
const MAX_FRAMING_BYTES = 64 * 1024;

/**
 * Finds the end of a chunked body (RFC 9112 §7.1) across any number of reads, and hands out the
 * data it carries as slices of the input. Works on latin1 strings, like the rest of the router's
 * message handling (see router.ts).
 */
export class ChunkedDecoder {
  private state = SIZE;
  private remaining = 0;
  private sizeDigits = 0;
  private framingBytes = 0;
  /** Data bytes seen so far. */
  size = 0;
  error = '';

  reset(): void {
    this.state = SIZE;
    this.remaining = 0;
    this.sizeDigits = 0;
    this.framingBytes = 0;
    this.size = 0;
    this.error = '';
  }

  /**
   * Reads `text[start..end)`. Data slices go to `sink` when given. Returns the index just after the
   * message when it ended in this text, -1 when it needs more, -2 on malformed framing (`error`
   * says why).
   */
  feed(text: string, start: number, end: number, sink: string[] | null): number {
    let i = start;
    while (i < end) {
      const state = this.state;
      if (state === DATA) {
        const n = Math.min(this.remaining, end - i);
        if (sink) sink.push(text.slice(i, i + n));
        this.size += n;
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) this.state = DATA_CR;
        continue;
      }
      const c = text.charCodeAt(i++);
      if (++this.framingBytes > MAX_FRAMING_BYTES) return this.fail('chunk framing too long');
      switch (state) {
        case SIZE: {
          const d = hexValue(c);
          if (d >= 0) {
            if (++this.sizeDigits > 12) return this.fail('chunk size too large');
            this.remaining = this.remaining * 16 + d;
          } else if (this.sizeDigits === 0) return this.fail('malformed chunk size');
          else if (c === 13) this.state = SIZE_LF;
          else if (c === 59 /* ; */ || c === 32 || c === 9) this.state = EXT;
          else return this.fail('malformed chunk size');
          break;
        }
        case EXT:
          if (c === 13) this.state = SIZE_LF;
          else if (c === 10) return this.fail('malformed chunk extension');
          break;
        case SIZE_LF:
          if (c !== 10) return this.fail('malformed chunk size line');
          this.sizeDigits = 0;
          this.state = this.remaining === 0 ? TRAILER_START : DATA;
          break;
        case DATA_CR:
          if (c !== 13) return this.fail('chunk data longer than its size');
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (c !== 10) return this.fail('chunk data longer than its size');
          this.state = SIZE;
          break;
        case TRAILER_START:
          this.state = c === 13 ? END_LF : TRAILER;
          break;
        case TRAILER:
          if (c === 10) this.state = TRAILER_START;
          break;
        case END_LF:
          if (c !== 10) return this.fail('malformed end of chunked body');
          this.state = DONE;
          return i;
        default:
          return this.fail('data after the end of a chunked body');
      }
    }
    return -1;
  }

  private fail(message: string): number {
    this.error = message;
    return -2;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  403: 'Forbidden',
  413: 'Content Too Large',
  424: 'Failed Dependency',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

export const reasonPhrase = (status: number): string => REASONS[status] ?? 'Error';
