/** `mlp status [<pipeline>] [--json]`: every pipeline in force (or one, with where it trains and serves and its notifications), its groups, current version, rollout, latency and serving cost. */
import { relative } from 'node:path';
import { formatProblem } from '../../shared/config/problems.js';
import { formatDuration } from '../../shared/duration.js';
import { notFound } from '../../shared/errors.js';
import { formatPercent } from '../../shared/percent.js';
import type { FullSnapshot, PipelineView, RolloutView } from '../../shared/protocol.js';
import { clientSettings, connect, type DaemonConnection } from '../client.js';
import {
  latencyPair,
  nextStepCell,
  nextStepText,
  plural,
  queuePositions,
  runStatusText,
  runsText,
  serversText,
  storageProblemText,
} from '../components/common/format.js';
import { priceTable, servingPerMonth } from '../costs.js';
import { renderTable } from './table.js';
import { notificationLines, notificationProblems } from '../notifications.js';
import { gateLine, gatesRun, unreadableReportLine } from '../gates.js';
import { replaySamples } from '../replay.js';

export async function status(opts: { json: boolean; pipeline?: string }): Promise<number> {
  const conn = await connect(clientSettings());
  try {
    // The snapshot sent on connect has summaries only: status prints full views (scripts rely on --json).
    const snap = opts.pipeline === undefined ? await conn.fullStatus() : await onePipeline(conn, opts.pipeline);
    if (opts.json) {
      console.log(
        JSON.stringify(
          { repo: snap.repo, storage: snap.storage ?? null, capacity: snap.capacity ?? null, pipelines: snap.pipelines },
          null,
          2,
        ),
      );
    } else {
      process.stdout.write(formatStatus(snap, { detail: opts.pipeline !== undefined }));
    }
    return 0;
  } finally {
    conn.close();
  }
}

/** One pipeline's full view, under the head of the snapshot sent on connect (whose summaries name the others). */
async function onePipeline(conn: DaemonConnection, name: string): Promise<FullSnapshot> {
  const { at, repo, storage, capacity, pipelines } = conn.snapshot;
  if (!pipelines.some((x) => x.name === name)) {
    const known = pipelines.map((x) => x.name);
    throw notFound(`no pipeline named '${name}' in force${known.length ? ` (known: ${known.join(', ')})` : ''}`);
  }
  const view = await conn.subscribe(name);
  return { type: 'full_snapshot', id: null, at, repo, storage: storage ?? null, ...(capacity ? { capacity } : {}), pipelines: [view] };
}

const STEPS_RUN = {
  local: "as processes on the daemon's machine",
  docker: 'in Docker containers',
  sagemaker: 'as SageMaker jobs',
} as const;
const MODELS_SERVE = {
  local: "from processes behind mlpd's router",
  docker: "from Docker containers behind mlpd's router",
  sagemaker: 'from SageMaker endpoints',
} as const;

/** `forecast: steps run in Docker containers; models serve from SageMaker endpoints (us-east-1: london mlp-forecast-london-1b2c3d4e)` */
export function backendsLine(p: PipelineView): string | null {
  if (!p.backends) return null; // a daemon from before the field
  const said = (table: Record<string, string>, backend: string) => table[backend] ?? `on '${backend}'`;
  const endpoints = p.sagemaker
    ? ` (${p.sagemaker.region ?? 'region from the AWS configuration'}: ${
        Object.entries(p.sagemaker.endpoints)
          .map(([g, e]) => `${g} ${e}`)
          .join(', ') || 'no group yet'
      })`
    : '';
  return `${p.name}: steps run ${said(STEPS_RUN, p.backends.training)}; models serve ${said(MODELS_SERVE, p.backends.serving)}${endpoints}`;
}

/** `detail`: one pipeline's page, with where it trains and serves, its notification targets and last deliveries. */
export function formatStatus(
  snap: Pick<FullSnapshot, 'at' | 'repo' | 'storage' | 'capacity' | 'pipelines'>,
  opts: { detail?: boolean } = {},
): string {
  const out: string[] = [];
  const positions = queuePositions(snap.capacity);
  if (snap.pipelines.length === 0) {
    out.push(`no pipelines in force in ${snap.repo.root} (add a pipeline.yaml; 'mlp validate' checks it)`);
  } else {
    out.push(
      renderTable(
        ['PIPELINE', 'GROUPS', 'CURRENT', 'ROLLOUT', 'CANDIDATE', 'LAST RUN', 'NEXT STEP', 'P50/P99', 'COST', 'SCHEDULE', 'CONFIG'],
        snap.pipelines.map((p) => [
          p.name,
          groupsCell(p),
          p.current?.version ?? '-',
          p.rollout ? p.rollout.phase : '-',
          p.rollout ? `${p.rollout.candidateVersion} ${formatPercent(p.rollout.candidateWeight)}` : '-',
          lastRunCell(p, snap.at, positions),
          nextStepCell(p.rollout, snap.at, formatDuration),
          p.performance.latency ? latencyPair(p.performance.latency.p50Ms, p.performance.latency.p99Ms) : '-',
          servingPerMonth(p.performance.serving) ?? '-',
          p.schedule ?? 'on demand',
          p.problems.length ? 'INVALID EDIT' : 'ok',
        ]),
      ),
    );
    // The price table is the daemon's, the same for every pipeline: said once, under the table.
    const priced = snap.pipelines.find((p) => servingPerMonth(p.performance.serving) !== null);
    if (priced)
      out.push(
        `COST: estimated cost of the live model servers per 30 days at SageMaker prices (${priceTable(priced.performance.prices)}; docs/costs.md)`,
      );
  }
  const serving = snap.pipelines.filter((p) => p.variants.length);
  if (serving.length) {
    out.push(
      '',
      renderTable(
        ['SERVING', 'GROUP', 'VARIANT', 'ROLE', 'WEIGHT', 'STATE', 'REQ/S', 'ERRORS', 'P50', 'P99'],
        serving.flatMap((p) =>
          p.variants.map((v) => {
            const m = v.metrics?.window;
            return [
              p.name,
              v.group,
              v.variant,
              v.role,
              formatPercent(v.weight),
              v.state + (v.restarts ? ` (${v.restarts} ${plural(v.restarts, 'restart')})` : ''),
              m ? m.requestsPerSecond.toFixed(1) : '-',
              m ? `${(m.errorRate * 100).toFixed(1)}%` : '-',
              m?.p50Ms != null ? `${m.p50Ms.toFixed(1)}ms` : '-',
              m?.p99Ms != null ? `${m.p99Ms.toFixed(1)}ms` : '-',
            ];
          }),
        ),
      ),
    );
  }
  for (const p of snap.pipelines) {
    const backends = opts.detail ? backendsLine(p) : null;
    if (backends) out.push('', backends);
    if (p.rollout) out.push('', ...formatRollout(p.name, p.rollout, snap.at));
    for (const v of p.variants) if (v.state !== 'live' && v.lastError) out.push('', `${p.name}/${v.group} ${v.variant}: ${v.lastError}`);
    if (p.groupsError) out.push('', `${p.name}: groups: ${p.groupsError}`);
    const last = p.runs[0];
    if (last?.status === 'failed' || last?.status === 'skipped') out.push('', `${p.name}: run ${last.id} ${last.status}: ${last.reason}`);
    if (opts.detail) out.push('', ...notificationLines(p.notifications, snap.at).map((l, i) => (i === 0 ? `${p.name}: ${l}` : l)));
    else for (const line of notificationProblems(p.notifications, snap.at)) out.push('', `${p.name}: ${line}`);
    if (p.problems.length) {
      out.push('', `${p.name}: the latest edit is invalid, the previous version stays in force:`);
      for (const problem of p.problems) out.push(`  ${formatProblem(problem, process.cwd())}`);
    }
  }
  const capacity = snap.capacity ? [serversText(snap.capacity), runsText(snap.capacity)].filter((l): l is string => l !== null) : [];
  if (capacity.length) out.push('', ...capacity);
  if (snap.storage) out.push('', storageProblemText(snap.storage));
  if (snap.repo.problems.length) {
    out.push('', `problems in ${relative(process.cwd(), snap.repo.root) || '.'}:`);
    for (const problem of snap.repo.problems) out.push(`  ${formatProblem(problem, process.cwd())}`);
  }
  return out.join('\n') + '\n';
}

function groupsCell(p: PipelineView): string {
  if (p.groups.length === 0) return p.groupsError ? '? (see below)' : '-';
  const shown = p.groups.slice(0, 4).join(', ');
  return p.groups.length > 4 ? `${shown} +${p.groups.length - 4}` : shown;
}

function lastRunCell(p: PipelineView, now: number, positions: ReadonlyMap<string, number>): string {
  const run = p.runs[0];
  if (!run) return '-';
  return `${runStatusText(run, positions.get(run.id))} ${formatDuration(Math.max(0, now - (run.finishedAt ?? run.startedAt ?? run.createdAt)))} ago`;
}

/** Failing replayed requests shown per group (`mlp status --json` and the TUI have them all). */
const SAMPLES_SHOWN = 3;

/** A rollout in a few lines: where it is, its gates, its last decisions, failing replayed requests. */
export function formatRollout(pipeline: string, r: RolloutView, now: number): string[] {
  const versions = `${r.currentVersion ? `${r.currentVersion} → ` : ''}${r.candidateVersion}`;
  const next = r.nextStep ? `, next step ${nextStepText(r.nextStep, now, formatDuration)}` : '';
  // The daemon's message says what the phase does not (promoting while still shifting at 100%); else the reason.
  const said = r.message ?? r.reason;
  const out = [
    `${pipeline}: rollout #${r.id} ${versions}: ${r.phase}${r.pausedFrom ? ` (from ${r.pausedFrom})` : ''} at ${formatPercent(r.candidateWeight)}${next}${said ? ` — ${said}` : ''}`,
  ];
  for (const p of r.replayProgress ?? [])
    out.push(`  … replaying ${p.group}: ${p.done}${p.total !== null ? ` of ${p.total}` : ''} ${plural(p.total ?? p.done, 'request')}`);
  for (const [gate, g] of gatesRun(r)) {
    out.push(`  ${gateLine(gate, g)}`);
    const unreadable = unreadableReportLine(gate, g);
    if (unreadable) out.push(`  ${unreadable}`);
  }
  if (r.gates.replay?.passed === false) {
    const shown = new Map<string, number>();
    for (const s of replaySamples(r)) {
      const n = shown.get(s.group) ?? 0;
      shown.set(s.group, n + 1);
      if (n >= SAMPLES_SHOWN) continue;
      out.push(
        `      ${s.group}: ${s.request} → current ${s.current?.status ?? '-'}, candidate ${s.candidate.status ?? s.candidate.error ?? '?'} ${s.candidate.body}`.trimEnd(),
      );
    }
  }
  for (const d of r.decisions.slice(-3)) out.push(`  ${new Date(d.at).toISOString().slice(11, 19)} ${d.phase} ${d.verdict}: ${d.reason}`);
  return out;
}
