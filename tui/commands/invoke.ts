/**
 * `mlp invoke <pipeline> [--group G] (--data JSON | --data @FILE)`: one request through the daemon's
 * router, exactly as live traffic goes (split by weight, captured, counted), printing the answer
 * and the variant that gave it.
 */
import { readFileSync } from 'node:fs';
import { MlpError, usageError } from '../../shared/errors.js';
import { SERVE_TOKEN_ENV, serveTokenFrom } from '../../shared/serveToken.js';
import { write } from '../../shared/output.js';
import { clientSettings, connect } from '../client.js';

export interface InvokeOptions {
  group?: string;
  data: string;
  contentType?: string;
  variant?: string;
  json: boolean;
}

export async function invoke(pipeline: string, opts: InvokeOptions): Promise<number> {
  const body = readData(opts.data);
  const contentType = opts.contentType ?? (isJson(body) ? 'application/json' : 'application/octet-stream');
  const serveToken = serveTokenFrom(process.env);
  const serveUrl = process.env.MLP_SERVE_URL || (await askServeUrl());
  const path = opts.group
    ? `/endpoints/${encodeURIComponent(pipeline)}/groups/${encodeURIComponent(opts.group)}/invocations`
    : `/endpoints/${encodeURIComponent(pipeline)}/invocations`;
  const started = performance.now();
  let res: Response;
  try {
    res = await fetch(serveUrl + path, {
      method: 'POST',
      body: new Uint8Array(body),
      headers: {
        'content-type': contentType,
        ...(opts.variant ? { 'x-mlp-target-variant': opts.variant } : {}),
        ...(serveToken ? { authorization: `Bearer ${serveToken}` } : {}),
      },
    });
  } catch (err) {
    throw new MlpError('unreachable', `cannot reach the mlpd router at ${serveUrl}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
  }
  const text = await res.text();
  const variant = res.headers.get('x-mlp-variant');
  // A 401 that names no variant is the router's own: the serving token is missing or wrong.
  if (res.status === 401 && variant === null) {
    const why = errorOf(text);
    throw new MlpError('unauthenticated', `the router refused the request: ${why} (${serveToken ? `check ${SERVE_TOKEN_ENV}` : `set ${SERVE_TOKEN_ENV} to mlpd's serving token`})`);
  }
  const latencyMs = Math.round((performance.now() - started) * 10) / 10;
  if (opts.json) {
    console.log(JSON.stringify({ status: res.status, variant, latencyMs, body: isJson(Buffer.from(text)) ? JSON.parse(text) : text }));
  } else {
    // The verdict goes after the whole answer, also when both streams share a pipe (2>&1).
    await write(process.stdout, text.endsWith('\n') ? text : text + '\n');
    process.stderr.write(`${res.ok ? '' : 'error: '}HTTP ${res.status}${variant ? ` from ${variant}` : ''} in ${latencyMs} ms\n`);
  }
  return res.ok ? 0 : 1;
}

/** `--data '{"week": 12}'` or `--data @request.json` (`@-` reads standard input). */
function readData(data: string): Buffer {
  if (!data.startsWith('@')) return Buffer.from(data);
  const file = data.slice(1);
  try {
    return readFileSync(file === '-' ? 0 : file);
  } catch (err) {
    throw usageError(`mlp invoke: cannot read --data ${data}: ${(err as Error).message}`);
  }
}

function errorOf(text: string): string {
  try {
    return String((JSON.parse(text) as { error?: unknown }).error ?? text);
  } catch {
    return text;
  }
}

function isJson(body: Buffer): boolean {
  try {
    JSON.parse(body.toString('utf8'));
    return true;
  } catch {
    return false;
  }
}

async function askServeUrl(): Promise<string> {
  const conn = await connect(clientSettings());
  conn.close();
  return conn.hello.daemon.serveUrl;
}
