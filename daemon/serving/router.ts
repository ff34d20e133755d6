/**
 * The model-traffic endpoint on `--serve-port` (DESIGN §5): `POST /endpoints/<pipeline>/invocations`
 * with the group in `X-Mlp-Group`, or `/endpoints/<pipeline>/groups/<group>/invocations`.
 * Errors are JSON bodies that say what to fix; the router never throws on bad input.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listen } from '../net.js';

export interface RouteTarget {
  pipeline: string;
  group: string;
}

export interface RouterDeps {
  /** Known pipelines and their groups; null when the pipeline is unknown. */
  groupsOf(pipeline: string): string[] | null;
}

const PATH = /^\/endpoints\/([^/]+)(?:\/groups\/([^/]+))?\/invocations\/?$/;

/** The pipeline and group a request is for; group is '' when the request names none. */
export function parseRoute(req: IncomingMessage): RouteTarget | null {
  const path = (req.url ?? '/').split('?')[0]!;
  const m = PATH.exec(path);
  if (!m) return null;
  const pipeline = decodeURIComponent(m[1]!);
  const header = req.headers['x-mlp-group'];
  const group = m[2] !== undefined ? decodeURIComponent(m[2]) : Array.isArray(header) ? header[0] : header;
  return { pipeline, group: group ?? '' };
}

export async function startRouter(opts: { host: string; port: number; deps: RouterDeps }) {
  const server = createServer((req, res) => handle(req, res, opts.deps));
  const port = await listen(server, 'model traffic', opts.host, opts.port);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

function reply(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function handle(req: IncomingMessage, res: ServerResponse, deps: RouterDeps) {
  req.resume(); // the body is not needed until a variant answers; drain it so keep-alive works
  if (req.method === 'GET' && (req.url === '/ping' || req.url === '/healthz')) return reply(res, 200, { status: 'ok' });
  const route = parseRoute(req);
  if (!route) {
    return reply(res, 404, { error: `no such endpoint: ${req.method} ${req.url}; use POST /endpoints/<pipeline>/invocations` });
  }
  if (req.method !== 'POST') return reply(res, 405, { error: `use POST for invocations, not ${req.method}` });
  const groups = deps.groupsOf(route.pipeline);
  if (!groups) return reply(res, 404, { error: `no pipeline named '${route.pipeline}'` });
  if (!route.group) {
    if (groups.length !== 1) {
      return reply(res, 400, { error: `'${route.pipeline}' has ${groups.length} groups: name one with the X-Mlp-Group header or /groups/<group>/invocations` });
    }
    route.group = groups[0]!;
  }
  if (!groups.includes(route.group)) {
    return reply(res, 404, { error: `pipeline '${route.pipeline}' has no group '${route.group}' (groups: ${groups.join(', ') || 'none'})` });
  }
  return reply(res, 503, { error: `no live model for ${route.pipeline}/${route.group}: deploy a version first (mlp deploy ${route.pipeline})` });
}
