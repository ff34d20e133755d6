/**
 * `mlp invoke <pipeline> [--group G] (--data JSON | --data @FILE) [--variant vN]`: one request as live
 * traffic goes (split by weight, captured, counted), printing the answer and the variant that gave it:
 * through the daemon's router, or, for a pipeline served on SageMaker, InvokeEndpoint on its endpoint.
 */
import { readFileSync } from 'node:fs';
import { MlpError, usageError } from '../../shared/errors.js';
import { SERVE_TOKEN_ENV, serveTokenFrom } from '../../shared/serve-token.js';
import { write } from '../../shared/output.js';
import { clientSettings, connect } from '../client.js';
import type { PipelineView } from '../../shared/protocol.js';
import type { InvokeAnswer } from './invoke-endpoint.js';
import { sageMakerTarget, type SageMakerTarget } from './sagemaker-target.js';

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
  const way = await wayTo(pipeline, opts);
  const started = performance.now();
  let answer: InvokeAnswer;
  if (way.kind === 'sagemaker') {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'; // as mlpd does: not actionable here (docs/cloud.md)
    answer = await (await import('./invoke-endpoint.js')).invokeEndpoint(way.target, body, contentType);
  } else {
    answer = await throughRouter(way.serveUrl, pipeline, body, contentType, opts);
  }
  const latencyMs = Math.round((performance.now() - started) * 10) / 10;
  const ok = answer.status >= 200 && answer.status <= 299 && !answer.modelError;
  const { text, variant } = answer;
  if (opts.json) {
    console.log(JSON.stringify({ status: answer.status, variant, latencyMs, body: isJson(Buffer.from(text)) ? JSON.parse(text) : text }));
  } else {
    const via =
      way.kind === 'sagemaker'
        ? ` (SageMaker endpoint ${way.target.endpoint}${answer.modelError ? ', ModelError: the model answered with an error' : ''})`
        : '';
    // The verdict goes after the whole answer, also when both streams share a pipe (2>&1).
    await write(process.stdout, text.endsWith('\n') ? text : text + '\n');
    process.stderr.write(`${ok ? '' : 'error: '}HTTP ${answer.status}${variant ? ` from ${variant}` : ''} in ${latencyMs} ms${via}\n`);
  }
  return ok ? 0 : 1;
}

type Way = { kind: 'router'; serveUrl: string } | { kind: 'sagemaker'; target: SageMakerTarget };

/**
 * mlpd's router, or the pipeline's SageMaker endpoint when mlpd says it serves there (the pipeline's view
 * has its backends, so this works from any folder). MLP_SERVE_URL names a router: it is used
 * without asking mlpd.
 */
async function wayTo(pipeline: string, opts: InvokeOptions): Promise<Way> {
  if (process.env.MLP_SERVE_URL) return { kind: 'router', serveUrl: process.env.MLP_SERVE_URL };
  const conn = await connect(clientSettings());
  let p: PipelineView | undefined;
  try {
    // A pipeline mlpd does not know goes to the router, which says so.
    p = await conn.subscribe(pipeline).catch((err: unknown) => {
      if (err instanceof MlpError && err.code === 'not_found') return undefined;
      throw err;
    });
  } finally {
    conn.close();
  }
  if (p?.backends?.serving === 'sagemaker' && p.sagemaker) {
    return { kind: 'sagemaker', target: sageMakerTarget({ ...p, sagemaker: p.sagemaker }, opts) };
  }
  return { kind: 'router', serveUrl: conn.hello.daemon.serveUrl };
}

async function throughRouter(
  serveUrl: string,
  pipeline: string,
  body: Buffer,
  contentType: string,
  opts: InvokeOptions,
): Promise<InvokeAnswer> {
  const serveToken = serveTokenFrom(process.env);
  const path = opts.group
    ? `/endpoints/${encodeURIComponent(pipeline)}/groups/${encodeURIComponent(opts.group)}/invocations`
    : `/endpoints/${encodeURIComponent(pipeline)}/invocations`;
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
    throw new MlpError(
      'unreachable',
      `cannot reach the mlpd router at ${serveUrl}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`,
    );
  }
  const text = await res.text();
  const variant = res.headers.get('x-mlp-variant');
  // A 401 that names no variant is the router's own: the serving token is missing or wrong.
  if (res.status === 401 && variant === null) {
    const why = errorOf(text);
    throw new MlpError(
      'unauthenticated',
      `the router refused the request: ${why} (${serveToken ? `check ${SERVE_TOKEN_ENV}` : `set ${SERVE_TOKEN_ENV} to mlpd's serving token`})`,
    );
  }
  return { status: res.status, variant, text };
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
