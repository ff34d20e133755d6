/**
 * Where a whole request goes: to a variant of a group, or back to the client with the router's own
 * answer. A pure function of the parsed head, the route table and the group's picker, so every
 * branch is tested without a socket (test/daemon/serving/route-decision.test.ts); the connection
 * (router.ts) only carries the decision out.
 *
 * A request names its pipeline in the path and its group in the path, `X-Mlp-Group` or
 * `X-Amzn-SageMaker-Target-Model`; a SageMaker endpoint name `<pipeline>--<group>` names both.
 */
import { bearerProblem, BEARER_CHALLENGE } from './bearer.js';
import { isJsonContentType, type RequestHead } from './http1.js';
import { isJsonText } from './json-syntax.js';
import type { GroupPicker } from './picker.js';
import { routerErrors } from './errors.js';
import { sigV4Problem, targetModelGroup } from './sagemaker-runtime.js';
import type { GroupRoute, RouteTable, VariantTarget } from '../types.js';

/** What of a request head the decision reads. */
export type RoutedHead = Pick<
  RequestHead,
  'method' | 'target' | 'sageMaker' | 'group' | 'targetModel' | 'targetVariant' | 'contentType' | 'authorization'
>;

export interface RouteContext<Slot extends { readonly target: VariantTarget }> {
  readonly table: RouteTable;
  /** The serving token (MLP_SERVE_TOKEN); undefined = no authentication. */
  readonly token: string | undefined;
  /** The picker of a group's live variants (kept by the router across requests, so weights hold over time). */
  picker(route: GroupRoute): GroupPicker<Slot>;
}

export interface Forward<Slot extends { readonly target: VariantTarget }> {
  readonly kind: 'forward';
  readonly picker: GroupPicker<Slot>;
  readonly slot: Slot;
}

/** The router answers itself: an error (`{"error": message}`, or SageMaker's shape), or the health check. */
export interface Reply {
  readonly kind: 'reply';
  readonly status: number;
  readonly message: string;
  /** Header lines the answer needs besides its Content-Type (Allow, WWW-Authenticate), each ending in CRLF. */
  readonly headers: string;
}

export interface Ping {
  readonly kind: 'ping';
}

export type RouteDecision<Slot extends { readonly target: VariantTarget }> = Forward<Slot> | Reply | Ping;

export const PING: Ping = { kind: 'ping' };
/** The health check's answer body. */
export const PING_BODY = '{"status":"ok"}';

/** The pipeline and group an invocation path names. */
export interface PathTarget {
  pipeline: string;
  /** undefined when the path names no group. */
  group: string | undefined;
}

const INVOCATION_PATH = /^\/endpoints\/([^/]+)(?:\/groups\/([^/]+))?\/invocations\/?$/;

/** The pipeline and group a path (without query) names, or null when it is no invocation path. Throws URIError on bad percent-encoding. */
export function parsePath(path: string): PathTarget | null {
  const m = INVOCATION_PATH.exec(path);
  if (m === null) return null;
  return { pipeline: decodeSegment(m[1]!), group: m[2] !== undefined ? decodeSegment(m[2]) : undefined };
}

function decodeSegment(s: string): string {
  return s.includes('%') ? decodeURIComponent(s) : s;
}

/**
 * The last path a connection asked for, parsed: a keep-alive client mostly asks for the same path
 * again, so it is parsed once per connection, not once per request.
 */
export class PathMemo {
  private path: string | null = null;
  private target: PathTarget | null = null;

  /** parsePath(path), remembered. */
  parse(path: string): PathTarget | null {
    if (path !== this.path) {
      this.target = parsePath(path);
      this.path = path;
    }
    return this.target;
  }
}

const reply = (status: number, message: string, headers = ''): Reply => ({ kind: 'reply', status, message, headers });

/**
 * Decides where a request goes. `bodyText` gives the body as latin1 text; it is asked only when the
 * Content-Type says JSON (the body is checked then, so a client learns of a broken body from us
 * rather than from a model's stack trace).
 */
export function decideRoute<Slot extends { readonly target: VariantTarget }>(
  head: RoutedHead,
  paths: PathMemo,
  bodyText: () => string,
  ctx: RouteContext<Slot>,
): RouteDecision<Slot> {
  const query = head.target.indexOf('?');
  const path = query < 0 ? head.target : head.target.slice(0, query);
  if (path === '/ping') return head.method === 'GET' ? PING : reply(405, routerErrors.pingMethod(head.method), 'Allow: GET\r\n');
  // Before anything is looked up, so that without the token not even pipeline names are told.
  if (ctx.token !== undefined) {
    const refused = head.sageMaker ? sigV4Problem(head.authorization, ctx.token) : bearerProblem(head.authorization, ctx.token);
    if (refused !== null) return reply(401, refused, BEARER_CHALLENGE);
  }
  let parsed: PathTarget | null;
  try {
    parsed = paths.parse(path);
  } catch {
    return reply(400, routerErrors.malformedPath(path));
  }
  if (parsed === null) return reply(404, routerErrors.noSuchEndpoint(head.method, path));
  if (head.method !== 'POST') return reply(405, routerErrors.invocationMethod(head.method), 'Allow: POST\r\n');

  const found = lookup(head, parsed, ctx.table);
  if (found.kind === 'reply') return found;
  const route = found.route;
  if (route.variants.length === 0) {
    return reply(503, route.servedOn ? routerErrors.servedOnSageMaker(route, route.servedOn) : routerErrors.noLiveModel(route));
  }
  const picker = ctx.picker(route);
  let slot: Slot | null = null;
  const pinned = head.targetVariant;
  if (pinned !== undefined) {
    slot = picker.find(pinned);
    if (slot === null) {
      // A role nobody plays right now is the router's state (retry later); an unknown name is the client's mistake.
      if (pinned === 'current' || pinned === 'candidate') return reply(503, routerErrors.noLiveRole(pinned, route));
      return reply(400, routerErrors.noLiveVariant(pinned, route));
    }
  }
  if (head.contentType !== undefined && isJsonContentType(head.contentType) && !isJsonText(bodyText())) {
    return reply(400, routerErrors.notJson(head.contentType));
  }
  if (slot === null) {
    slot = picker.next();
    if (slot === null) return reply(503, routerErrors.noWeight(route));
  }
  return { kind: 'forward', picker, slot };
}

/** The group route a request names, or the error that says why there is none. */
function lookup(head: RoutedHead, parsed: PathTarget, table: RouteTable): { kind: 'route'; route: GroupRoute } | Reply {
  let pipeline = parsed.pipeline;
  let group = parsed.group;
  if (group === undefined) group = head.group || (head.targetModel ? targetModelGroup(head.targetModel) : undefined);
  let found = table.lookup(pipeline, group);
  if (found.kind === 'unknown_pipeline') {
    // Not a pipeline: perhaps the SageMaker endpoint name of one of its groups.
    const endpoint = table.endpoint(pipeline);
    if (endpoint !== undefined) {
      if (group !== undefined && group !== endpoint.group)
        return reply(400, routerErrors.endpointNamesOtherGroup(pipeline, endpoint, group));
      ({ pipeline, group } = endpoint);
      found = table.lookup(pipeline, group);
    }
  }
  switch (found.kind) {
    case 'route':
      return found;
    case 'unknown_pipeline':
      return reply(
        404,
        head.sageMaker ? routerErrors.unknownEndpoint(pipeline, found.known) : routerErrors.unknownPipeline(pipeline, found.known),
      );
    case 'unknown_group':
      return reply(404, routerErrors.unknownGroup(pipeline, group, found.groups));
    case 'group_required':
      return reply(400, routerErrors.groupRequired(pipeline, found.groups));
  }
}
