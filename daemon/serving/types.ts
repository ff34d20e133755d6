/**
 * The contracts between the parts of serving: the route table (who serves a pipeline's group and
 * with what weight), and the two observers of every invocation (Data Capture and live metrics).
 * The router depends only on these, so each part can be built and tested on its own.
 */

/** A live model server for one model version of one group. */
export interface VariantTarget {
  /** The model version, as users see it: `v3`. Also the value of `X-Mlp-Variant`. */
  readonly name: string;
  /** `current` serves the traffic today; `candidate` is being rolled out. */
  readonly role: 'current' | 'candidate';
  /** Share of traffic, 0–100. Weights of a group's variants are relative to their sum. */
  readonly weight: number;
  readonly host: string;
  readonly port: number;
  /** Where the server answers this variant's invocations when not `/invocations`: `/models/<name>/invoke` on a multi-model server. */
  readonly invocationsPath?: string;
}

/** The variants of one (pipeline, group), as the router sees them at this instant. */
export interface GroupRoute {
  readonly pipeline: string;
  readonly group: string;
  /** Live variants only; an empty list means the group has no live model (503). */
  readonly variants: readonly VariantTarget[];
  /** With no live variant although a version should serve: why (its server is starting, or was given up on), for the 503. */
  readonly down?: string;
  /** Per-request timeout of the model servers (504 after it). */
  readonly timeoutMs: number;
  /** Percent of invocations written to Data Capture (0 = none). */
  readonly captureSamplingPercent: number;
  /**
   * The SageMaker endpoint the group serves on instead, when its pipeline says `deployment.backend: sagemaker`:
   * a group that moved there answers here, once nothing of it is live, with a 503 naming it.
   */
  readonly servedOn?: string;
}

export type RouteLookup =
  | { kind: 'route'; route: GroupRoute }
  | { kind: 'unknown_pipeline'; known: readonly string[] }
  | { kind: 'unknown_group'; groups: readonly string[] }
  /** The pipeline has several groups and the request named none. */
  | { kind: 'group_required'; groups: readonly string[] };

/** Read on every request: must be a few map lookups, no I/O, no allocation it can avoid. */
export interface RouteTable {
  lookup(pipeline: string, group: string | undefined): RouteLookup;
  /**
   * The (pipeline, group) whose SageMaker endpoint name (`captureEndpoint`, `<pipeline>--<group>`)
   * is `name`, case-insensitively as SageMaker's; undefined when none is. Asked only for a name
   * that is no pipeline.
   */
  endpoint(name: string): { pipeline: string; group: string } | undefined;
  /** Bumped whenever routes change, so the router can cache per-group pickers. */
  readonly generation: number;
}

/** One invocation as Data Capture and metrics see it. Buffers are not copied: keep them or drop them. */
export interface Invocation {
  pipeline: string;
  group: string;
  variant: string;
  /** Epoch ms when the request arrived. */
  at: number;
  latencyMs: number;
  /** HTTP status the client got (the model's, or the router's own 502/504). */
  status: number;
  requestBody: Buffer;
  requestContentType: string | undefined;
  responseBody: Buffer;
  responseContentType: string | undefined;
  /** `X-Mlp-Inference-Id` from the request, else one the router made. */
  inferenceId: string;
}

export interface CaptureSink {
  /** Must return at once: the write happens off the request path. */
  record(invocation: Invocation): void;
}

export interface MetricsSink {
  /** Counts the request for the variant (errors: status >= 500). Must return at once. */
  observe(pipeline: string, group: string, variant: string, status: number, latencyMs: number, at: number): void;
}
