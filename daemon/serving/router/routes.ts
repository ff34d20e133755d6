/**
 * The route table the router reads on every request: for each pipeline in force, its groups and
 * the live variants of each group with their weights. A pipeline's routes are rebuilt whenever it,
 * its groups, a variant's state or a weight changes, and only that pipeline's: with a thousand
 * pipelines, one server coming back costs one pipeline's routes. Lookups are two map reads.
 */
import { captureEndpoint } from '../capture/layout.js';
import type { GroupRoute, RouteLookup, RouteTable, VariantTarget } from '../types.js';

export interface RoutePipeline {
  name: string;
  groups: readonly string[];
  timeoutMs: number;
  captureSamplingPercent: number;
  /**
   * The SageMaker endpoint of each group, when the pipeline serves there (`deployment.backend: sagemaker`). Data, not
   * a function: route changes are posted to the router workers.
   */
  servedOn?: Readonly<Record<string, string>>;
}

export interface RouteVariant extends VariantTarget {
  pipeline: string;
  group: string;
}

/** A variant that should serve but whose server does not answer: why its group has no live model. */
export interface DownVariant {
  pipeline: string;
  group: string;
  /** e.g. `v3 is not serving yet: its model server is starting` */
  reason: string;
}

interface PipelineEntry {
  groups: readonly string[];
  routes: Map<string, GroupRoute>;
  /** What the entry was made from: a copy of the table is made from the same data. */
  made: { pipeline: RoutePipeline; live: readonly RouteVariant[]; down: readonly DownVariant[] };
}

/** One change of the table as the data that made it: what a copy of the table applies to stay the same. */
export type RouteChange =
  | { kind: 'replace'; pipelines: readonly RoutePipeline[]; live: readonly RouteVariant[]; down: readonly DownVariant[] }
  | { kind: 'set'; pipeline: RoutePipeline; live: readonly RouteVariant[]; down: readonly DownVariant[] }
  | { kind: 'remove'; name: string };

/** A copy of the table somewhere else (a router worker): resolves once the change is in force there. */
export interface RouteCopy {
  apply(change: RouteChange): Promise<void>;
}

export interface MutableRouteTable extends RouteTable {
  /** Every pipeline's routes at once (the pipelines in force changed). */
  replace(pipelines: readonly RoutePipeline[], live: readonly RouteVariant[], down?: readonly DownVariant[]): void;
  /** One pipeline's routes, from its live variants (the others' are kept as they are). */
  setPipeline(pipeline: RoutePipeline, live: readonly RouteVariant[], down?: readonly DownVariant[]): void;
  /** The pipeline is no longer routed here. */
  removePipeline(name: string): void;
  /** Applies a change made by another table (this one is a copy). */
  apply(change: RouteChange): void;
  /** Keeps `copy` the same as this table from now on: it gets the whole table, then every change. Returns a function that stops it. */
  replicate(copy: RouteCopy): () => void;
  /** Resolves once every change made so far is in force in every copy (at once without copies). */
  inForce(): Promise<void>;
}

export function createRouteTable(): MutableRouteTable {
  let byPipeline = new Map<string, PipelineEntry>();
  let names: string[] = [];
  let generation = 0;
  /** SageMaker endpoint names, made on first use after a change (most traffic never asks). */
  let endpoints: Map<string, { pipeline: string; group: string }> | null = null;
  const copies = new Set<RouteCopy>();
  /** Changes not yet acknowledged by every copy. */
  const unsettled = new Set<Promise<void>>();
  const changed = (change: RouteChange) => {
    endpoints = null;
    generation++;
    for (const copy of copies) send(copy, change);
  };
  const send = (copy: RouteCopy, change: RouteChange) => {
    const applied = copy.apply(change).finally(() => unsettled.delete(applied));
    unsettled.add(applied);
  };
  const table: MutableRouteTable = {
    get generation() {
      return generation;
    },
    lookup(pipeline, group): RouteLookup {
      const entry = byPipeline.get(pipeline);
      if (!entry) return { kind: 'unknown_pipeline', known: names };
      if (group === undefined || group === '') {
        if (entry.groups.length !== 1) return { kind: 'group_required', groups: entry.groups };
        group = entry.groups[0]!;
      }
      const route = entry.routes.get(group);
      return route ? { kind: 'route', route } : { kind: 'unknown_group', groups: entry.groups };
    },
    endpoint(name) {
      if (endpoints === null) {
        endpoints = new Map();
        for (const [pipeline, entry] of byPipeline)
          for (const group of entry.groups) endpoints.set(captureEndpoint(pipeline, group), { pipeline, group });
      }
      return endpoints.get(name.toLowerCase());
    },
    replace(pipelines, live, down = []) {
      const next = new Map<string, PipelineEntry>();
      const liveOf = byName(live);
      const downOf = byName(down);
      for (const p of pipelines) next.set(p.name, entryOf(p, liveOf.get(p.name) ?? [], downOf.get(p.name) ?? []));
      byPipeline = next;
      names = [...next.keys()].sort();
      changed({ kind: 'replace', pipelines, live, down });
    },
    setPipeline(p, live, down = []) {
      const known = byPipeline.has(p.name);
      const entry = entryOf(p, live, down);
      byPipeline.set(p.name, entry);
      if (!known) names = [...byPipeline.keys()].sort();
      changed({ kind: 'set', pipeline: p, live: entry.made.live, down: entry.made.down });
    },
    removePipeline(name) {
      if (!byPipeline.delete(name)) return;
      names = names.filter((n) => n !== name);
      changed({ kind: 'remove', name });
    },
    apply(change) {
      if (change.kind === 'replace') table.replace(change.pipelines, change.live, change.down);
      else if (change.kind === 'set') table.setPipeline(change.pipeline, change.live, change.down);
      else table.removePipeline(change.name);
    },
    replicate(copy) {
      const entries = [...byPipeline.values()].map((e) => e.made);
      copies.add(copy);
      send(copy, {
        kind: 'replace',
        pipelines: entries.map((m) => m.pipeline),
        live: entries.flatMap((m) => m.live),
        down: entries.flatMap((m) => m.down),
      });
      return () => void copies.delete(copy);
    },
    async inForce() {
      while (unsettled.size > 0) await Promise.all(unsettled);
    },
  };
  return table;
}

function byName<T extends { pipeline: string }>(items: readonly T[]): Map<string, T[]> {
  const of = new Map<string, T[]>();
  for (const item of items) {
    const list = of.get(item.pipeline);
    if (list) list.push(item);
    else of.set(item.pipeline, [item]);
  }
  return of;
}

/** One pipeline's routes; `live` and `down` may hold other pipelines' variants too (they are skipped). */
function entryOf(p: RoutePipeline, live: readonly RouteVariant[], down: readonly DownVariant[]): PipelineEntry {
  const routes = new Map<string, GroupRoute>();
  for (const group of p.groups) {
    const servedOn = p.servedOn?.[group];
    routes.set(group, {
      pipeline: p.name,
      group,
      variants: [],
      timeoutMs: p.timeoutMs,
      captureSamplingPercent: p.captureSamplingPercent,
      ...(servedOn ? { servedOn } : {}),
    });
  }
  const variantsOf = new Map<string, VariantTarget[]>();
  for (const v of live) {
    if (v.pipeline !== p.name || !routes.has(v.group)) continue;
    let list = variantsOf.get(v.group);
    if (!list) variantsOf.set(v.group, (list = []));
    list.push({
      name: v.name,
      role: v.role,
      weight: v.weight,
      host: v.host,
      port: v.port,
      ...(v.invocationsPath ? { invocationsPath: v.invocationsPath } : {}),
    });
  }
  for (const [group, variants] of variantsOf) {
    variants.sort((a, b) => (a.role === b.role ? 0 : a.role === 'current' ? -1 : 1));
    routes.set(group, { ...routes.get(group)!, variants });
  }
  for (const a of down) {
    const route = a.pipeline === p.name ? routes.get(a.group) : undefined;
    if (route && route.variants.length === 0 && route.down === undefined) routes.set(a.group, { ...route, down: a.reason });
  }
  // Only this pipeline's variants are kept: a copy of the table is sent one pipeline's data, not the fleet's.
  const made = { pipeline: p, live: live.filter((v) => v.pipeline === p.name), down: down.filter((a) => a.pipeline === p.name) };
  return { groups: p.groups, routes, made };
}
