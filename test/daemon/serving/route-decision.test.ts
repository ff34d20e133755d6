/**
 * The router's route decision without sockets: every way a request is forwarded or answered by the
 * router itself, over a real route table and pickers.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GroupPicker } from '../../../daemon/serving/router/picker.js';
import {
  decideRoute,
  parsePath,
  PathMemo,
  type RouteContext,
  type RouteDecision,
  type RoutedHead,
} from '../../../daemon/serving/router/route-decision.js';
import { createRouteTable, type RoutePipeline, type RouteVariant } from '../../../daemon/serving/router/routes.js';
import type { GroupRoute, VariantTarget } from '../../../daemon/serving/types.js';

interface Slot {
  readonly target: VariantTarget;
}

const variant = (pipeline: string, group: string, name: string, role: VariantTarget['role'], weight: number): RouteVariant => ({
  pipeline,
  group,
  name,
  role,
  weight,
  host: '127.0.0.1',
  port: 1,
});

/** Pipelines: `solo` (one group `all`), `fleet` (groups `london`, `paris`, `rome`), `cloud` (serves on SageMaker). */
function context(options: { token?: string; live?: RouteVariant[] } = {}): RouteContext<Slot> & { bodyReads: number } {
  const table = createRouteTable();
  const pipelines: RoutePipeline[] = [
    { name: 'solo', groups: ['all'], timeoutMs: 1000, captureSamplingPercent: 0 },
    { name: 'fleet', groups: ['london', 'paris', 'rome'], timeoutMs: 1000, captureSamplingPercent: 0 },
    { name: 'cloud', groups: ['all'], timeoutMs: 1000, captureSamplingPercent: 0, servedOn: { all: 'cloud--all' } },
  ];
  const live = options.live ?? [
    variant('solo', 'all', 'v1', 'current', 100),
    variant('fleet', 'london', 'v3', 'current', 90),
    variant('fleet', 'london', 'v4', 'candidate', 10),
    variant('fleet', 'paris', 'v2', 'current', 0),
  ];
  table.replace(pipelines, live, [{ pipeline: 'fleet', group: 'rome', reason: 'v1 is not serving yet: its model server is starting' }]);
  const pickers = new Map<GroupRoute, GroupPicker<Slot>>();
  return {
    table,
    token: options.token,
    bodyReads: 0,
    picker(route) {
      let picker = pickers.get(route);
      if (picker === undefined)
        pickers.set(
          route,
          (picker = new GroupPicker(
            route,
            route.variants.map((target) => ({ target })),
          )),
        );
      return picker;
    },
  };
}

const head = (target: string, fields: Partial<RoutedHead> = {}): RoutedHead => ({
  method: 'POST',
  target,
  sageMaker: false,
  group: undefined,
  targetModel: undefined,
  targetVariant: undefined,
  contentType: undefined,
  authorization: undefined,
  ...fields,
});

function decide(ctx: ReturnType<typeof context>, h: RoutedHead, body = '{}'): RouteDecision<Slot> {
  return decideRoute(h, new PathMemo(), () => (ctx.bodyReads++, body), ctx);
}

/** The variant a request is forwarded to, as `pipeline/group/variant`; fails when the router answers itself. */
function forwarded(decision: RouteDecision<Slot>): string {
  assert.equal(decision.kind, 'forward', `expected a forward, got ${JSON.stringify(decision)}`);
  if (decision.kind !== 'forward') throw new Error('unreachable');
  return `${decision.picker.route.pipeline}/${decision.picker.route.group}/${decision.slot.target.name}`;
}

/** The router's own answer as `status message`; fails when the request is forwarded. */
function replied(decision: RouteDecision<Slot>): { status: number; message: string; headers: string } {
  assert.equal(decision.kind, 'reply', `expected a reply, got ${decision.kind}`);
  if (decision.kind !== 'reply') throw new Error('unreachable');
  return { status: decision.status, message: decision.message, headers: decision.headers };
}

describe('route decision', () => {
  it('answers the health check itself, and only to GET', () => {
    const ctx = context({ token: 'secret' });
    assert.equal(decide(ctx, head('/ping', { method: 'GET' })).kind, 'ping', 'no token needed for /ping');
    const post = replied(decide(ctx, head('/ping')));
    assert.equal(post.status, 405);
    assert.match(post.message, /use GET for \/ping, not POST/);
    assert.equal(post.headers, 'Allow: GET\r\n');
  });

  it('forwards a pipeline with one group without naming the group, and ignores the query', () => {
    const ctx = context();
    assert.equal(forwarded(decide(ctx, head('/endpoints/solo/invocations?x=1'))), 'solo/all/v1');
    assert.equal(forwarded(decide(ctx, head('/endpoints/solo/invocations/'))), 'solo/all/v1');
  });

  it('takes the group from the path, X-Mlp-Group or TargetModel (as itself or its archive)', () => {
    const ctx = context();
    assert.match(forwarded(decide(ctx, head('/endpoints/fleet/groups/london/invocations'))), /^fleet\/london\//);
    assert.match(forwarded(decide(ctx, head('/endpoints/fleet/invocations', { group: 'london' }))), /^fleet\/london\//);
    assert.match(forwarded(decide(ctx, head('/endpoints/fleet/invocations', { targetModel: 'london' }))), /^fleet\/london\//);
    assert.match(forwarded(decide(ctx, head('/endpoints/fleet/invocations', { targetModel: 'london.tar.gz' }))), /^fleet\/london\//);
    // The path's group wins over the header's.
    assert.equal(replied(decide(ctx, head('/endpoints/fleet/groups/paris/invocations', { group: 'london' }))).status, 503);
  });

  it('decodes percent-encoded path segments, and refuses malformed ones with 400', () => {
    const ctx = context();
    assert.equal(forwarded(decide(ctx, head('/endpoints/s%6Flo/invocations'))), 'solo/all/v1');
    const bad = replied(decide(ctx, head('/endpoints/%E0%A4%A/invocations')));
    assert.equal(bad.status, 400);
    assert.match(bad.message, /malformed percent-encoding in \/endpoints\/%E0%A4%A\/invocations/);
  });

  it('takes a SageMaker endpoint name <pipeline>--<group> (case-insensitively) for the pipeline and group', () => {
    const ctx = context();
    assert.match(forwarded(decide(ctx, head('/endpoints/fleet--london/invocations', { sageMaker: true }))), /^fleet\/london\//);
    assert.match(forwarded(decide(ctx, head('/endpoints/Fleet--London/invocations', { sageMaker: true }))), /^fleet\/london\//);
    assert.match(forwarded(decide(ctx, head('/endpoints/fleet--london/invocations', { targetModel: 'london' }))), /^fleet\/london\//);
    const clash = replied(decide(ctx, head('/endpoints/fleet--london/invocations', { targetModel: 'paris' })));
    assert.equal(clash.status, 400);
    assert.match(
      clash.message,
      /endpoint 'fleet--london' is group 'london' of pipeline 'fleet', but the request names group 'paris': name one of them/,
    );
  });

  it('answers 404 to a path that is no invocation, and 405 to an invocation that is not POST', () => {
    const ctx = context();
    const notFound = replied(decide(ctx, head('/models', { method: 'GET' })));
    assert.equal(notFound.status, 404);
    assert.match(notFound.message, /no such endpoint: GET \/models; model traffic goes to POST \/endpoints\/<pipeline>\/invocations/);
    const get = replied(decide(ctx, head('/endpoints/solo/invocations', { method: 'GET' })));
    assert.equal(get.status, 405);
    assert.match(get.message, /use POST for invocations, not GET/);
    assert.equal(get.headers, 'Allow: POST\r\n');
  });

  it('names the known pipelines for an unknown one, in the words of the form the client speaks', () => {
    const ctx = context();
    const mlp = replied(decide(ctx, head('/endpoints/nope/invocations')));
    assert.equal(mlp.status, 404);
    assert.equal(mlp.message, "no pipeline named 'nope' (known: cloud, fleet, solo)");
    const sageMaker = replied(decide(ctx, head('/endpoints/nope/invocations', { sageMaker: true })));
    assert.equal(sageMaker.status, 404);
    assert.equal(
      sageMaker.message,
      "no endpoint named 'nope': an endpoint is <pipeline> or <pipeline>--<group> (pipelines: cloud, fleet, solo)",
    );
  });

  it('names the groups for an unknown group, and asks for one when a pipeline has several', () => {
    const ctx = context();
    const unknown = replied(decide(ctx, head('/endpoints/fleet/groups/oslo/invocations')));
    assert.equal(unknown.status, 404);
    assert.equal(unknown.message, "pipeline 'fleet' has no group 'oslo' (groups: london, paris, rome)");
    const none = replied(decide(ctx, head('/endpoints/fleet/invocations')));
    assert.equal(none.status, 400);
    assert.match(none.message, /^pipeline 'fleet' has 3 groups \(london, paris, rome\): name one with the X-Mlp-Group header/);
    assert.match(none.message, /TargetModel, or the endpoint fleet--<group>$/);
  });

  it('answers 503 for a group without a live variant, saying why', () => {
    const ctx = context({ live: [] });
    const deploy = replied(decide(ctx, head('/endpoints/solo/invocations')));
    assert.deepEqual([deploy.status, deploy.message], [503, 'no live model for solo/all: deploy a version first (mlp deploy solo)']);
    const starting = replied(decide(ctx, head('/endpoints/fleet/groups/rome/invocations')));
    assert.deepEqual(
      [starting.status, starting.message],
      [503, 'no live model for fleet/rome: v1 is not serving yet: its model server is starting'],
    );
    const cloud = replied(decide(ctx, head('/endpoints/cloud/invocations')));
    assert.equal(cloud.status, 503);
    assert.match(cloud.message, /cloud\/all serves on SageMaker endpoint cloud--all, not on this router/);
  });

  it('splits by weight, and pins a variant by name or role with X-Mlp-Target-Variant', () => {
    const ctx = context();
    const counts: Record<string, number> = {};
    for (let i = 0; i < 100; i++) {
      const to = forwarded(decide(ctx, head('/endpoints/fleet/groups/london/invocations')));
      counts[to] = (counts[to] ?? 0) + 1;
    }
    assert.deepEqual(counts, { 'fleet/london/v3': 90, 'fleet/london/v4': 10 });
    assert.equal(forwarded(decide(ctx, head('/endpoints/fleet/groups/london/invocations', { targetVariant: 'v4' }))), 'fleet/london/v4');
    assert.equal(
      forwarded(decide(ctx, head('/endpoints/fleet/groups/london/invocations', { targetVariant: 'candidate' }))),
      'fleet/london/v4',
    );
    assert.equal(
      forwarded(decide(ctx, head('/endpoints/fleet/groups/london/invocations', { targetVariant: 'current' }))),
      'fleet/london/v3',
    );
    // A pinned variant is served even at weight 0.
    assert.equal(forwarded(decide(ctx, head('/endpoints/fleet/groups/paris/invocations', { targetVariant: 'v2' }))), 'fleet/paris/v2');
  });

  it('refuses a pinned variant that is not live: 400 for a name, 503 for a role nobody plays now', () => {
    const ctx = context();
    const name = replied(decide(ctx, head('/endpoints/solo/invocations', { targetVariant: 'v9' })));
    assert.deepEqual(
      [name.status, name.message],
      [400, "no live variant 'v9' in solo/all (X-Mlp-Target-Variant); live: v1 (current, weight 100)"],
    );
    const role = replied(decide(ctx, head('/endpoints/solo/invocations', { targetVariant: 'candidate' })));
    assert.deepEqual(
      [role.status, role.message],
      [503, 'no live candidate variant in solo/all (X-Mlp-Target-Variant); live: v1 (current, weight 100)'],
    );
  });

  it('answers 503 when no live variant has weight, and says how to pin one', () => {
    const ctx = context();
    const none = replied(decide(ctx, head('/endpoints/fleet/groups/paris/invocations')));
    assert.deepEqual(
      [none.status, none.message],
      [503, 'no live variant of fleet/paris has traffic weight (live: v2 (current, weight 0)); pin one with X-Mlp-Target-Variant'],
    );
  });

  it('refuses a body that is not the JSON its Content-Type says, and reads the body only then', () => {
    const ctx = context();
    const bad = replied(decide(ctx, head('/endpoints/solo/invocations', { contentType: 'application/json' }), '{"x": '));
    assert.deepEqual(
      [bad.status, bad.message],
      [400, 'the body is not valid JSON but Content-Type says application/json: fix the body or the Content-Type'],
    );
    assert.equal(
      forwarded(decide(ctx, head('/endpoints/solo/invocations', { contentType: 'application/json; charset=utf-8' }), '{"x": 1}')),
      'solo/all/v1',
    );
    const reads = ctx.bodyReads;
    assert.equal(forwarded(decide(ctx, head('/endpoints/solo/invocations', { contentType: 'text/csv' }), '1,2,{')), 'solo/all/v1');
    assert.equal(forwarded(decide(ctx, head('/endpoints/solo/invocations'), '{')), 'solo/all/v1');
    assert.equal(ctx.bodyReads, reads, 'a body that is not JSON by its Content-Type is not read');
  });

  it('with a serving token, refuses a request without it before telling any pipeline name', () => {
    const ctx = context({ token: 'secret' });
    const missing = replied(decide(ctx, head('/endpoints/nope/invocations')));
    assert.equal(missing.status, 401);
    assert.match(missing.message, /requires the serving token/);
    assert.match(missing.headers, /^WWW-Authenticate: Bearer/);
    assert.equal(replied(decide(ctx, head('/endpoints/solo/invocations', { authorization: 'Bearer wrong' }))).status, 401);
    assert.equal(forwarded(decide(ctx, head('/endpoints/solo/invocations', { authorization: 'Bearer secret' }))), 'solo/all/v1');
    const sigV4 = (key: string) =>
      `AWS4-HMAC-SHA256 Credential=${key}/20260101/us-east-1/sagemaker/aws4_request, SignedHeaders=host, Signature=00`;
    assert.equal(
      forwarded(decide(ctx, head('/endpoints/solo/invocations', { sageMaker: true, authorization: sigV4('secret') }))),
      'solo/all/v1',
    );
    const wrongKey = replied(decide(ctx, head('/endpoints/solo/invocations', { sageMaker: true, authorization: sigV4('AKIAOTHER') })));
    assert.equal(wrongKey.status, 401);
    assert.match(wrongKey.message, /the access key id is not the serving token/);
  });
});

describe('invocation paths', () => {
  it('parse into pipeline and group, once per distinct path on a connection', () => {
    assert.deepEqual(parsePath('/endpoints/p/invocations'), { pipeline: 'p', group: undefined });
    assert.deepEqual(parsePath('/endpoints/p/groups/g%20h/invocations'), { pipeline: 'p', group: 'g h' });
    assert.equal(parsePath('/endpoints/p/groups/invocations'), null);
    assert.equal(parsePath('/endpoints//invocations'), null);
    const memo = new PathMemo();
    const first = memo.parse('/endpoints/p/invocations');
    assert.equal(memo.parse('/endpoints/p/invocations'), first, 'the same path is not parsed again');
    assert.notEqual(memo.parse('/endpoints/q/invocations'), first);
  });
});
