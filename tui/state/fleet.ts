/**
 * The fleet model: what the daemon has told this client, folded from protocol messages by a pure
 * reducer. The view reads it; only the live connection (and tests) feed it. Every pipeline is a
 * summary (the fleet list); the pipelines this client subscribed to also have their full view.
 */
import type {
  CapacityView,
  DaemonEvent,
  LogLineView,
  PipelineSummary,
  PipelineView,
  Role,
  Snapshot,
  StorageProblemView,
} from '../../shared/protocol.js';

export type Connection =
  | { status: 'connecting' }
  | { status: 'connected'; role: Role; daemonVersion: string }
  | { status: 'disconnected'; reason: string; retryInMs: number };

/** A log line as the TUI keeps it: `seq` grows by one per line received, so views can tell new lines from old. */
export interface LogEntry extends LogLineView {
  seq: number;
}

export interface FleetState {
  connection: Connection;
  /** Daemon time of the last snapshot, metrics tick or history point (for "3m ago" and "in 2m"). */
  at: number;
  repoRoot: string;
  repoProblems: Snapshot['repo']['problems'];
  /** Set while the daemon's database refuses writes. */
  storage: StorageProblemView | null;
  /** The daemon's model servers and runs against its limits (null: a daemon that does not say). */
  capacity: CapacityView | null;
  /** In the daemon's order; selectors sort. */
  pipelines: PipelineSummary[];
  /** Full views of the subscribed pipelines, kept up to date by `pipeline_updated`, `metrics`, `history` and `run_updated`. */
  details: Record<string, PipelineView>;
  /** Followed pipelines' recent lines, oldest first, at most MAX_LOG_LINES each. */
  logs: Record<string, LogEntry[]>;
  logSeq: number;
}

/** Lines kept per pipeline; older ones are dropped. */
export const MAX_LOG_LINES = 1_000;

/** History points kept per pipeline: as many as the daemon sends in a snapshot, so a long session shows the same span. */
export const MAX_HISTORY_POINTS = 60;

export type FleetAction =
  | { type: 'snapshot'; snapshot: Snapshot }
  /** A subscribed pipeline's full view, as the daemon answered the subscription. */
  | { type: 'detail'; pipeline: PipelineView }
  /** The client stopped its subscription: the full view goes. */
  | { type: 'forget'; pipeline: string }
  | { type: 'event'; event: DaemonEvent }
  /** Stored lines answered to a `tail` request (they may overlap lines already received as events). */
  | { type: 'logs'; pipeline: string; lines: LogLineView[] }
  | { type: 'connection'; connection: Connection }
  /** The daemon's clock as this client estimates it between messages, so countdowns move without traffic. */
  | { type: 'clock'; at: number };

export const initialFleet: FleetState = {
  connection: { status: 'connecting' },
  at: 0,
  repoRoot: '',
  repoProblems: [],
  storage: null,
  capacity: null,
  pipelines: [],
  details: {},
  logs: {},
  logSeq: 0,
};

export function fleetReducer(state: FleetState, action: FleetAction): FleetState {
  switch (action.type) {
    case 'snapshot': {
      const s = action.snapshot;
      // Full views of pipelines still in force stay until their subscription answers again.
      const names = new Set(s.pipelines.map((p) => p.name));
      const details = Object.fromEntries(Object.entries(state.details).filter(([name]) => names.has(name)));
      return {
        ...state,
        at: s.at,
        repoRoot: s.repo.root,
        repoProblems: s.repo.problems,
        storage: s.storage ?? null,
        capacity: s.capacity ?? null,
        pipelines: s.pipelines,
        details,
      };
    }
    case 'detail':
      return { ...state, details: { ...state.details, [action.pipeline.name]: action.pipeline } };
    case 'forget': {
      if (!(action.pipeline in state.details)) return state;
      const { [action.pipeline]: _gone, ...details } = state.details;
      return { ...state, details };
    }
    case 'connection':
      return { ...state, connection: action.connection };
    case 'clock':
      return action.at > state.at ? { ...state, at: action.at } : state;
    case 'logs':
      return appendLogs(state, action.pipeline, action.lines);
    case 'event':
      return applyEvent(state, action.event);
  }
}

function applyEvent(state: FleetState, event: DaemonEvent): FleetState {
  switch (event.kind) {
    case 'fleet':
      return { ...state, at: Math.max(state.at, event.at), pipelines: upsert(state.pipelines, event.pipelines) };
    case 'pipeline_updated':
      return event.pipeline.name in state.details
        ? { ...state, details: { ...state.details, [event.pipeline.name]: event.pipeline } }
        : state;
    case 'pipeline_removed': {
      const { [event.name]: _gone, ...logs } = state.logs;
      const { [event.name]: _view, ...details } = state.details;
      return { ...state, pipelines: state.pipelines.filter((p) => p.name !== event.name), details, logs };
    }
    case 'repo_problems':
      return { ...state, repoProblems: event.problems };
    case 'storage':
      return { ...state, storage: event.storage };
    case 'capacity':
      return { ...state, capacity: event.capacity };
    case 'run_updated': {
      const run = event.run;
      const p = state.details[run.pipeline];
      if (!p) return state;
      const runs = [run, ...p.runs.filter((r) => r.id !== run.id)]
        .sort((a, b) => b.createdAt - a.createdAt)
        .slice(0, Math.max(p.runs.length, 1));
      return withDetail(state, { ...p, runs });
    }
    case 'metrics': {
      let details = state.details;
      for (const [name, updates] of groupBy(event.variants, (v) => v.pipeline)) {
        const p = details[name];
        if (!p) continue;
        const variants = p.variants.map((v) => {
          const u = updates.find((x) => x.group === v.group && x.variant === v.variant);
          return u ? { ...v, metrics: u.metrics } : v;
        });
        details = { ...details, [name]: { ...p, variants } };
      }
      return { ...state, at: Math.max(state.at, event.at), details };
    }
    case 'history': {
      let details = state.details;
      for (const u of event.pipelines) {
        const p = details[u.pipeline];
        if (!p) continue;
        const points = [...p.performance.history.points, u.point].slice(-MAX_HISTORY_POINTS);
        details = {
          ...details,
          [u.pipeline]: { ...p, performance: { ...p.performance, latency: u.latency, history: { intervalMs: event.intervalMs, points } } },
        };
      }
      return { ...state, at: Math.max(state.at, event.at), details };
    }
    case 'log': {
      if (!event.pipeline) return state;
      const { kind: _kind, ...line } = event;
      return appendLogs(state, event.pipeline, [{ id: 0, ...line }]);
    }
  }
}

/** The list with each summary replaced by its newer one (in place) or added at the end. */
function upsert(list: PipelineSummary[], changed: PipelineSummary[]): PipelineSummary[] {
  if (changed.length === 0) return list;
  const fresh = new Map(changed.map((p) => [p.name, p]));
  const next = list.map((p) => {
    const u = fresh.get(p.name);
    if (!u) return p;
    fresh.delete(p.name);
    return u;
  });
  return fresh.size ? [...next, ...fresh.values()] : next;
}

const withDetail = (state: FleetState, p: PipelineView): FleetState => ({ ...state, details: { ...state.details, [p.name]: p } });

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}

function appendLogs(state: FleetState, pipeline: string, lines: LogLineView[]): FleetState {
  if (lines.length === 0) return state;
  const have = state.logs[pipeline] ?? [];
  // Stored lines carry their id; a line that already arrived as an event (id 0) is recognised by content.
  const seen = new Set(have.map(logKey));
  let seq = state.logSeq;
  const fresh: LogEntry[] = [];
  for (const line of lines) {
    const key = logKey(line);
    if (seen.has(key)) continue;
    seen.add(key);
    fresh.push({ ...line, seq: ++seq });
  }
  if (fresh.length === 0) return state;
  const merged = [...have, ...fresh].sort((a, b) => a.at - b.at || a.seq - b.seq).slice(-MAX_LOG_LINES);
  return { ...state, logSeq: seq, logs: { ...state.logs, [pipeline]: merged } };
}

const logKey = (l: LogLineView) => `${l.at}\u0000${l.runId}\u0000${l.step}\u0000${l.group}\u0000${l.stream}\u0000${l.line}`;
