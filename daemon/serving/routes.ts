/**
 * The route table the router reads on every request: for each pipeline in force, its groups and
 * the live variants of each group with their weights. Rebuilt (not patched) whenever a pipeline,
 * its groups, a variant's state or a weight changes; lookups are two map reads.
 */
import { captureEndpoint } from './capture-layout.js';
import type { GroupRoute, RouteLookup, RouteTable, VariantTarget } from './types.js';

export interface RoutePipeline {
  name: string;
  groups: readonly string[];
  timeoutMs: number;
  captureSamplingPercent: number;
  /** The SageMaker endpoint of each group, when the pipeline serves there (`deployment.backend: sagemaker`). */
  endpointOf?: (group: string) => string;
}

export interface RouteVariant extends VariantTarget {
  pipeline: string;
  group: string;
}

interface PipelineEntry {
  groups: readonly string[];
  routes: Map<string, GroupRoute>;
}

export interface MutableRouteTable extends RouteTable {
  replace(pipelines: readonly RoutePipeline[], live: readonly RouteVariant[]): void;
}

export function createRouteTable(): MutableRouteTable {
  let byPipeline = new Map<string, PipelineEntry>();
  let names: string[] = [];
  let generation = 0;
  /** SageMaker endpoint names, made on first use after each replace (most traffic never asks). */
  let endpoints: Map<string, { pipeline: string; group: string }> | null = null;

  return {
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
        for (const [pipeline, entry] of byPipeline) for (const group of entry.groups) endpoints.set(captureEndpoint(pipeline, group), { pipeline, group });
      }
      return endpoints.get(name.toLowerCase());
    },
    replace(pipelines, live) {
      const next = new Map<string, PipelineEntry>();
      for (const p of pipelines) {
        const routes = new Map<string, GroupRoute>();
        for (const group of p.groups) {
          const variants = live
            .filter((v) => v.pipeline === p.name && v.group === group)
            .map(({ name, role, weight, host, port }) => ({ name, role, weight, host, port }))
            .sort((a, b) => (a.role === b.role ? 0 : a.role === 'current' ? -1 : 1));
          routes.set(group, {
            pipeline: p.name,
            group,
            variants,
            timeoutMs: p.timeoutMs,
            captureSamplingPercent: p.captureSamplingPercent,
            ...(p.endpointOf ? { servedOn: p.endpointOf(group) } : {}),
          });
        }
        next.set(p.name, { groups: p.groups, routes });
      }
      byPipeline = next;
      names = [...next.keys()].sort();
      endpoints = null;
      generation++;
    },
  };
}
