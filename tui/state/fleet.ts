/**
 * The fleet model: what the daemon has told this client, folded from protocol messages by a pure
 * reducer. The view reads it; only the live connection (and tests) feed it.
 */
import type { CapacityView, DaemonEvent, LogLineView, PipelineView, Role, Snapshot, StorageProblemView } from '../../shared/protocol.js';

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
  pipelines: PipelineView[];
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
  logs: {},
  logSeq: 0,
};

export function fleetReducer(state: FleetState, action: FleetAction): FleetState {
  switch (action.type) {
    case 'snapshot': {
      const s = action.snapshot;
      return { ...state, at: s.at, repoRoot: s.repo.root, repoProblems: s.repo.problems, storage: s.storage ?? null, capacity: s.capacity ?? null, pipelines: s.pipelines };
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
    case 'pipeline_updated': {
      const i = state.pipelines.findIndex((p) => p.name === event.pipeline.name);
      const pipelines = i < 0 ? [...state.pipelines, event.pipeline] : replaceAt(state.pipelines, i, event.pipeline);
      return { ...state, pipelines };
    }
    case 'pipeline_removed': {
      const { [event.name]: _gone, ...logs } = state.logs;
      return { ...state, pipelines: state.pipelines.filter((p) => p.name !== event.name), logs };
    }
    case 'repo_problems':
      return { ...state, repoProblems: event.problems };
    case 'storage':
      return { ...state, storage: event.storage };
    case 'capacity':
      return { ...state, capacity: event.capacity };
    case 'run_updated': {
      const run = event.run;
      const i = state.pipelines.findIndex((p) => p.name === run.pipeline);
      if (i < 0) return state;
      const p = state.pipelines[i]!;
      const runs = [run, ...p.runs.filter((r) => r.id !== run.id)].sort((a, b) => b.createdAt - a.createdAt).slice(0, Math.max(p.runs.length, 1));
      return { ...state, pipelines: replaceAt(state.pipelines, i, { ...p, runs }) };
    }
    case 'metrics': {
      const byPipeline = new Map<string, typeof event.variants>();
      for (const v of event.variants) byPipeline.set(v.pipeline, [...(byPipeline.get(v.pipeline) ?? []), v]);
      const pipelines = state.pipelines.map((p) => {
        const updates = byPipeline.get(p.name);
        if (!updates) return p;
        const variants = p.variants.map((v) => {
          const u = updates.find((x) => x.group === v.group && x.variant === v.variant);
          return u ? { ...v, metrics: u.metrics } : v;
        });
        return { ...p, variants };
      });
      return { ...state, at: Math.max(state.at, event.at), pipelines };
    }
    case 'history': {
      const byPipeline = new Map(event.pipelines.map((x) => [x.pipeline, x]));
      let changed = false;
      const pipelines = state.pipelines.map((p) => {
        const u = byPipeline.get(p.name);
        if (!u) return p;
        changed = true;
        const points = [...p.performance.history.points, u.point].slice(-MAX_HISTORY_POINTS);
        return { ...p, performance: { ...p.performance, latency: u.latency, history: { intervalMs: event.intervalMs, points } } };
      });
      // An unchanged list keeps the fleet's sort and counts memoised.
      return { ...state, at: Math.max(state.at, event.at), pipelines: changed ? pipelines : state.pipelines };
    }
    case 'log': {
      if (!event.pipeline) return state;
      const { kind: _kind, ...line } = event;
      return appendLogs(state, event.pipeline, [{ id: 0, ...line }]);
    }
  }
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

const replaceAt = <T>(list: T[], i: number, item: T): T[] => list.map((x, j) => (j === i ? item : x));
