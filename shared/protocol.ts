/**
 * The daemon's WebSocket API (docs/api.md): every message either side sends, as one zod schema that
 * both ends import. The daemon validates what clients send; clients validate what the daemon sends,
 * so a version skew shows up as a clear error instead of a confusing screen.
 *
 * Compatibility rule: PROTOCOL_VERSION changes when a message changes meaning or loses a field.
 * Adding an optional field or a new event type does not change it; clients ignore events they do
 * not know. Decision rules and verdicts are closed sets (shared/reports/decision.ts): a new one changes it.
 * A gate report in a shape this client does not know arrives as an UnreadableReport, not as an error
 * (shared/reports/unreadable.ts). Version 2: the snapshot carries pipeline summaries (a fleet-size client cannot take
 * every pipeline's full view); full views come on request (`status` with `full`, `subscribe`).
 */
import { z } from 'zod';
import { ROLES, ROLLOUT_PHASES } from './domain.js';
import { decision } from './reports/decision.js';
import { gateViews } from './reports/gates.js';

export { ROLES, ROLLOUT_PHASES, type Role, type RolloutPhase } from './domain.js';

export const PROTOCOL_VERSION = 2;

/** Messages larger than this get an error frame (the connection stays up). */
export const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;
/** Frames larger than this are refused by the socket itself (close code 1009). */
export const MAX_FRAME_BYTES = 1024 * 1024;

export const OPERATOR_COMMANDS = ['deploy', 'promote', 'rollback', 'pause', 'resume'] as const;
export type OperatorCommand = (typeof OPERATOR_COMMANDS)[number];

// ---------------------------------------------------------------------------------------------
// Domain views carried by the API

const problem = z.object({ file: z.string(), line: z.number(), col: z.number(), message: z.string() });

/** A decision record, with closed enums for its rule and verdict (shared/reports/decision.ts). */
export const decisionView = decision;
export type DecisionView = z.infer<typeof decisionView>;

/**
 * A rollout moves every group of a pipeline in lockstep: one phase and one weight. Versions are
 * per group; `candidateVersion` / `currentVersion` are the newest across groups.
 */
export const rolloutView = z.object({
  id: z.number(),
  phase: z.enum(ROLLOUT_PHASES),
  candidateVersion: z.string(),
  currentVersion: z.string().nullable(),
  candidateWeight: z.number().min(0).max(100),
  groups: z.array(z.object({ group: z.string(), candidateVersion: z.string(), currentVersion: z.string().nullable() })),
  /** The phase a paused rollout resumes to. */
  pausedFrom: z.string().nullable(),
  /** Each gate that ran, with its report (shared/reports/): a report this client cannot read arrives as an UnreadableReport. */
  gates: gateViews,
  /** While replaying: requests replayed so far per group (total null while still reading the capture). */
  replayProgress: z.array(z.object({ group: z.string(), done: z.number(), total: z.number().nullable() })).optional(),
  startedAt: z.number(),
  updatedAt: z.number(),
  finishedAt: z.number().nullable(),
  reason: z.string().nullable(),
  /**
   * What the rollout is doing that its phase does not say (computed by the daemon, absent when the phase says it
   * all): it is finishing (`promoting: …` while still `shifting` at 100%), or waiting for its candidates.
   */
  message: z.string().optional(),
  decisions: z.array(decisionView),
  /**
   * While shifting: when the next step is due and the candidates' share after it (100: they take all
   * traffic and the rollout is promoted). Null in every other phase, paused included.
   */
  nextStep: z.object({ at: z.number(), weight: z.number() }).nullable(),
});
export type RolloutView = z.infer<typeof rolloutView>;

/** One line of output: a step's (with run, step and group) or the daemon's own about a pipeline. */
const logLineFields = {
  at: z.number(),
  pipeline: z.string().nullable(),
  runId: z.string().nullable(),
  step: z.string().nullable(),
  group: z.string().nullable(),
  stream: z.enum(['stdout', 'stderr', 'daemon']),
  line: z.string(),
};
export const logLineView = z.object({ id: z.number(), ...logLineFields });
export type LogLineView = z.infer<typeof logLineView>;

export const stepRunView = z.object({
  step: z.string(),
  group: z.string().nullable(),
  executor: z.string(),
  status: z.string(),
  exitCode: z.number().nullable(),
  reason: z.string().nullable(),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
});

export const runView = z.object({
  id: z.string(),
  pipeline: z.string(),
  trigger: z.string(),
  status: z.string(),
  reason: z.string().nullable(),
  scheduledFor: z.number().nullable(),
  createdAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  gitCommit: z.string().nullable(),
  steps: z.array(stepRunView),
});
export type RunView = z.infer<typeof runView>;

/** Live metrics of one variant (definitions: docs/serving.md). */
export const variantMetricsView = z.object({
  requests: z.number(),
  errors: z.number(),
  errorRate: z.number(),
  requestsPerSecond: z.number(),
  p50Ms: z.number().nullable(),
  p95Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
});

/** `window`: the last 60 s; `recent`: the last 1,000 requests; `total`: since the server started. */
const variantMetricsSet = z.object({
  total: z.object({ requests: z.number(), errors: z.number() }),
  window: variantMetricsView,
  recent: variantMetricsView,
});
export type VariantMetricsSet = z.infer<typeof variantMetricsSet>;

/** A model server of one version of one group. */
export const variantView = z.object({
  group: z.string(),
  /** `v3`: the model version, also the router's `X-Mlp-Variant`. */
  variant: z.string(),
  role: z.enum(['current', 'candidate']),
  weight: z.number(),
  backend: z.string(),
  state: z.enum(['starting', 'live', 'failed', 'stopped']),
  port: z.number().nullable(),
  restarts: z.number(),
  lastError: z.string().nullable(),
  /** Totals since the server started, and over the sliding windows. */
  metrics: variantMetricsSet.nullable(),
});
export type VariantView = z.infer<typeof variantView>;

/** Live traffic of one role (current or candidate) of a pipeline, over one history interval, all groups pooled. */
const roleSample = z.object({ requests: z.number(), errors: z.number(), p50Ms: z.number().nullable(), p99Ms: z.number().nullable() });
/** One point of a pipeline's traffic history (the sparklines); a role is null when it served nothing in the interval. */
export const historyPoint = z.object({ at: z.number(), current: roleSample.nullable(), candidate: roleSample.nullable() });
export type HistoryPoint = z.infer<typeof historyPoint>;

/**
 * How fast a pipeline answers and what it costs (docs/api.md, "Performance and cost"). Costs are
 * estimates: instance-hours × the dated price table in `prices` (SageMaker list prices; mlp.yaml may
 * override them). Runs that did not run on SageMaker show what the same instance-hours would cost there.
 */
/** Model latency and errors over the last minute of live traffic, every group and variant pooled. */
export const latencyView = z.object({
  requests: z.number(),
  errors: z.number(),
  errorRate: z.number(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
  windowMs: z.number(),
});
export type LatencyView = z.infer<typeof latencyView>;

export const performanceView = z.object({
  /** Null without traffic in the last minute. */
  latency: latencyView.nullable(),
  /** The last points of the traffic history, oldest first, `intervalMs` apart. */
  history: z.object({ intervalMs: z.number(), points: z.array(historyPoint) }),
  /** The last finished training run; null before any. */
  training: z
    .object({
      runId: z.string(),
      finishedAt: z.number().nullable(),
      /** Wall-clock time of the whole run. */
      durationMs: z.number(),
      /** Every step of every group added up: the compute time the run used. */
      computeMs: z.number(),
      /** Where its train step ran: local, docker or cloud. */
      executor: z.string(),
      instanceType: z.string(),
      /** The train step's instance-hours (one instance per group). */
      instanceHours: z.number(),
      /** Price of `instanceType` for training; null when the price table does not list it. */
      usdPerHour: z.number().nullable(),
      estimatedUsd: z.number().nullable(),
    })
    .nullable(),
  /** The model servers live now, priced as one SageMaker hosting instance each; null when none is live. */
  serving: z
    .object({
      backend: z.string(),
      instanceType: z.string(),
      instances: z.number(),
      usdPerHour: z.number().nullable(),
      estimatedUsdPer30Days: z.number().nullable(),
    })
    .nullable(),
  /** Which price table the estimates use. */
  prices: z.object({ asOf: z.string(), region: z.string(), source: z.string() }),
});
export type PerformanceView = z.infer<typeof performanceView>;

/** Where a pipeline's steps run and where its models serve: `local`, `docker` or `sagemaker` (docs/runs.md). */
export const backendsView = z.object({ training: z.string(), serving: z.string() });

/** How clients reach a pipeline served from SageMaker endpoints, without reading the repo. */
export const sageMakerServingView = z.object({
  /** mlp.yaml `aws.region`; null: the client's own AWS configuration decides. */
  region: z.string().nullable(),
  /** The endpoint of each group. */
  endpoints: z.record(z.string(), z.string()),
});
export type SageMakerServingView = z.infer<typeof sageMakerServingView>;
/** One event for one target (docs/notifications.md); `target` is the URL redacted, never the URL. */
export const notificationView = z.object({
  /** X-Mlp-Event-Id. */
  eventId: z.string(),
  event: z.string(),
  target: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number(),
  /** The HTTP status of the last answer; null when none came. */
  lastStatus: z.number().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.number(),
  lastAttemptAt: z.number().nullable(),
  /** While pending: when the next attempt is due. */
  nextAttemptAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  /** The one-line summary the target was sent. */
  text: z.string(),
});
export type NotificationView = z.infer<typeof notificationView>;

/** A pipeline's notification targets and its last deliveries (newest first). */
export const notificationsView = z.object({
  /** mlp.yaml's and the pipeline's own, one per URL; `problem` says why deliveries to it cannot work (an unset ${VAR}). */
  targets: z.array(z.object({ target: z.string(), on: z.array(z.string()), problem: z.string().nullable() })),
  recent: z.array(notificationView),
  /** The last deliveries that failed for good. */
  failures: z.array(notificationView),
});
export type NotificationsView = z.infer<typeof notificationsView>;

export const pipelineView = z.object({
  name: z.string(),
  /** Folder of the pipeline, relative to the repo root. */
  dir: z.string(),
  schedule: z.string().nullable(),
  groups: z.array(z.string()),
  /** Why groups could not be discovered (missing table, bad connection) or which values were refused as groups, else null. */
  groupsError: z.string().nullable(),
  /** The version serving each group's traffic; `version` is the newest of them. Null before the first deploy. */
  current: z.object({ version: z.string(), groups: z.record(z.string(), z.string()) }).nullable(),
  variants: z.array(variantView),
  rollout: rolloutView.nullable(),
  /** Problems of the file on disk when its latest edit is invalid: the previous version stays in force. */
  problems: z.array(problem),
  configLoadedAt: z.number(),
  /** Recent runs, newest first (a few; `mlp status --json` shows them). */
  runs: z.array(runView),
  performance: performanceView,
  /** Optional: daemons before it did not send it. */
  backends: backendsView.optional(),
  /** Set when the pipeline serves on `sagemaker`, else null; optional like `backends`. */
  sagemaker: sageMakerServingView.nullable().optional(),
  notifications: notificationsView.optional(),
});
export type PipelineView = z.infer<typeof pipelineView>;

/**
 * What the fleet list needs of a pipeline, whatever its groups, runs, decisions and history: the
 * snapshot and the `fleet` event carry these (docs/api.md, "Summaries"). Fields without a value are
 * left out and reasons are cut to SUMMARY_REASON_CHARS, so a summary is a few hundred bytes (about
 * 1.3 KB at most) however many groups, runs, decisions and history points the pipeline has.
 * Derived from the full view by shared/fleet-summary.ts.
 */
export const pipelineSummary = z.object({
  name: z.string(),
  /** How many groups. */
  groups: z.number(),
  /** The newest version serving a group; absent before the first deploy. */
  current: z.string().optional(),
  /** The active rollout, else the most recent one (absent: never one). */
  rollout: z
    .object({
      phase: z.enum(ROLLOUT_PHASES),
      candidateVersion: z.string(),
      currentVersion: z.string().optional(),
      candidateWeight: z.number(),
      pausedFrom: z.string().optional(),
      reason: z.string().optional(),
      nextStep: z.object({ at: z.number(), weight: z.number() }).optional(),
      /** The threshold of the newest `error_rate` decision, while the candidate has an error rate. */
      errorRateThreshold: z.number().optional(),
    })
    .optional(),
  /** The candidate's error rate (0..1) over the last 60 s in its worst group; absent before it served. */
  candidateErrorRate: z.number().optional(),
  /** Model servers by state (a state without one is left out). */
  servers: z.object({ starting: z.number().optional(), live: z.number().optional(), failed: z.number().optional() }),
  /** The first failed model server, for the reason it shows. */
  failedServer: z.object({ group: z.string(), variant: z.string(), lastError: z.string().optional() }).optional(),
  /** The newest run; `at`: when it ended, else started, else was queued. `id` and `reason` only when it failed (what the list shows). */
  lastRun: z.object({ status: z.string(), at: z.number(), id: z.string().optional(), reason: z.string().optional() }).optional(),
  /** How many problems the invalid latest edit of pipeline.yaml has (absent: none). */
  problems: z.number().optional(),
  /** Median and 99th-percentile latency over the last 60 s (absent without traffic). */
  latency: z.object({ p50Ms: z.number().nullable(), p99Ms: z.number().nullable() }).optional(),
  /** The live model servers' estimated cost per 30 days at SageMaker prices. */
  servingUsdPer30Days: z.number().optional(),
});
export type PipelineSummary = z.infer<typeof pipelineSummary>;

/** Reasons in a summary are cut to this many characters (the full view has them whole). */
export const SUMMARY_REASON_CHARS = 200;

/** Set while the daemon's database refuses writes (disk full): serving goes on, state changes wait in memory. */
export const storageProblem = z.object({ error: z.string(), since: z.number(), failedWrites: z.number(), pendingWrites: z.number() });
export type StorageProblemView = z.infer<typeof storageProblem>;

/** What the daemon runs now against its limits (docs/fleet.md): its model servers, and runs. */
export const capacityView = z.object({
  servers: z.object({
    /** Model servers that should run (live variants of the local and docker backends). */
    total: z.number(),
    live: z.number(),
    /** Started, not answering /ping yet. */
    starting: z.number(),
    /** Waiting for their turn to start (`serving.starting_at_once`). */
    waiting: z.number(),
    /** Given up on after repeated failed starts. */
    failed: z.number(),
    /** Retired, finishing their requests before they stop; they count against the budget until then. */
    draining: z.number(),
    /** The budget, `serving.max_servers` (null: no limit); new candidates wait while total + draining is at it. */
    max: z.number().nullable(),
  }),
  runs: z.object({
    /** Runs going now whose steps run on this machine, and their limit (`runs.max_parallel`). */
    running: z.number(),
    max: z.number(),
    /** Runs going now on SageMaker, and their limit (`runs.max_parallel_cloud`). */
    runningCloud: z.number(),
    maxCloud: z.number(),
    /** Ids of the queued runs in the order they will start (round robin by pipeline). */
    queued: z.array(z.string()),
  }),
});
export type CapacityView = z.infer<typeof capacityView>;

const snapshotFields = {
  at: z.number(),
  repo: z.object({
    root: z.string(),
    /** Problems of files that never loaded (no previous version to keep), and of mlp.yaml. */
    problems: z.array(problem),
  }),
  storage: storageProblem.nullable().optional(),
  capacity: capacityView.optional(),
};

/** Sent on connect and in answer to `status`: every pipeline in force, summarised. */
export const snapshot = z.object({ type: z.literal('snapshot'), ...snapshotFields, pipelines: z.array(pipelineSummary) });
export type Snapshot = z.infer<typeof snapshot>;

/** The answer to `status` with `full`: every pipeline's full view (what `mlp status --json` prints). */
export const fullSnapshot = z.object({
  type: z.literal('full_snapshot'),
  id: z.string().nullable(),
  ...snapshotFields,
  pipelines: z.array(pipelineView),
});
export type FullSnapshot = z.infer<typeof fullSnapshot>;

// ---------------------------------------------------------------------------------------------
// Client -> daemon

const requestId = z.string().min(1).max(64);
const modelVersion = z.string().regex(/^v[1-9][0-9]*$/, 'a version looks like v3');

export const clientMessage = z.discriminatedUnion('type', [
  /** A fresh snapshot; with `full`, every pipeline's full view instead of its summary. */
  z.strictObject({ type: z.literal('status'), id: requestId.optional(), full: z.boolean().optional() }),
  /** One pipeline's full view now (a `detail` answer), then `pipeline_updated`, `metrics` and `history` of it while subscribed. */
  z.strictObject({ type: z.literal('subscribe'), id: requestId, pipeline: z.string().min(1).max(200) }),
  z.strictObject({ type: z.literal('unsubscribe'), id: requestId.optional(), pipeline: z.string().min(1).max(200) }),
  z.strictObject({ type: z.literal('ping'), id: requestId.optional() }),
  /** Stored log lines of a pipeline; with `follow`, new lines then arrive as `log` events. */
  z.strictObject({
    type: z.literal('tail'),
    id: requestId,
    pipeline: z.string().min(1).max(200),
    sinceMs: z.number().int().nonnegative().optional(),
    limit: z.number().int().min(1).max(10_000).optional(),
    follow: z.boolean().optional(),
  }),
  /** Stop following a pipeline's logs (`'*'`: all of them). */
  z.strictObject({ type: z.literal('unfollow'), id: requestId.optional(), pipeline: z.string().min(1).max(200) }),
  z
    .strictObject({
      type: z.literal('command'),
      id: requestId,
      command: z.enum(OPERATOR_COMMANDS),
      pipeline: z.string().min(1).max(200),
      version: modelVersion.optional(),
      /**
       * `deploy` only: roll out these versions, one per group (`{"london":"v3","paris":"v2"}`), e.g.
       * the versions an Airflow DAG run trained; groups not named keep their current version.
       */
      versions: z.record(z.string().min(1).max(200), modelVersion).optional(),
    })
    .refine((c) => !(c.version && c.versions), { message: "send 'version' or 'versions', not both", path: ['versions'] }),
]);
export type ClientMessage = z.infer<typeof clientMessage>;
export type CommandMessage = Extract<ClientMessage, { type: 'command' }>;

// ---------------------------------------------------------------------------------------------
// Daemon -> client

export const hello = z.object({
  type: z.literal('hello'),
  protocol: z.number(),
  daemon: z.object({ version: z.string(), startedAt: z.number(), serveUrl: z.string() }),
  session: z.object({ token: z.string(), role: z.enum(ROLES) }),
});

export const daemonEvent = z.discriminatedUnion('kind', [
  /** The summaries of the pipelines that changed since the last one (a few times a second at most). */
  z.object({ kind: z.literal('fleet'), at: z.number(), pipelines: z.array(pipelineSummary) }),
  /** The full view of a pipeline this connection subscribed to, when it changed. */
  z.object({ kind: z.literal('pipeline_updated'), pipeline: pipelineView }),
  z.object({ kind: z.literal('pipeline_removed'), name: z.string() }),
  z.object({ kind: z.literal('repo_problems'), problems: z.array(problem) }),
  /** The database started or stopped refusing writes (null: it takes them again). */
  z.object({ kind: z.literal('storage'), storage: storageProblem.nullable() }),
  /** What the daemon runs against its limits changed (at most once a second). */
  z.object({ kind: z.literal('capacity'), capacity: capacityView }),
  z.object({ kind: z.literal('log'), ...logLineFields }),
  z.object({ kind: z.literal('run_updated'), run: runView }),
  /** Live metrics of the subscribed pipelines' variants that served requests since the last tick (a few times a second). */
  z.object({
    kind: z.literal('metrics'),
    at: z.number(),
    variants: z.array(z.object({ pipeline: z.string(), group: z.string(), variant: z.string(), metrics: variantMetricsSet })),
  }),
  /** A new point of the traffic history of each subscribed pipeline that served requests in the interval. */
  z.object({
    kind: z.literal('history'),
    at: z.number(),
    intervalMs: z.number(),
    /** `latency` is the pipeline's `performance.latency` as of now. */
    pipelines: z.array(z.object({ pipeline: z.string(), point: historyPoint, latency: latencyView.nullable() })),
  }),
]);
export type DaemonEvent = z.infer<typeof daemonEvent>;

export const serverMessage = z.discriminatedUnion('type', [
  hello,
  snapshot,
  fullSnapshot,
  /** The answer to `subscribe`. */
  z.object({ type: z.literal('detail'), id: z.string().nullable(), pipeline: pipelineView }),
  z.object({ type: z.literal('event'), event: daemonEvent }),
  z.object({ type: z.literal('reply'), id: z.string().nullable(), result: z.unknown() }),
  z.object({ type: z.literal('pong'), id: z.string().nullable() }),
  z.object({ type: z.literal('logs'), id: z.string().nullable(), lines: z.array(logLineView) }),
  z.object({
    type: z.literal('error'),
    id: z.string().nullable(),
    code: z.string(),
    message: z.string(),
  }),
]);
export type ServerMessage = z.infer<typeof serverMessage>;
