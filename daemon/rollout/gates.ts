/**
 * The quality gates a candidate passes before live traffic reaches it (docs/rollouts.md, "Phases"): data checks,
 * integration tests against the silent candidate, and the replay of captured live traffic. Each
 * gate returns an outcome the state machine turns into a decision; a gate with nothing to do
 * passes as skipped, saying why.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { integrationTestCommand, parseGroupSource, type PipelineConfig, type RepoConfig } from '../../shared/config/schema.js';
import { formatDuration } from '../../shared/duration.js';
import { plural } from '../../shared/plural.js';
import type { DataCheckReport } from '../../shared/reports/data-checks.js';
import { isSkipped, type ReplayGateReport, type ReplayReport } from '../../shared/reports/replay.js';
import type { ChildLedger } from '../children/ledger.js';
import type { Executor } from '../executors/executor.js';
import type { LogWriter } from '../log-writer.js';
import type { ServingPlatform } from '../platform/platform.js';
import type { InForcePipeline } from '../repo/reconcile.js';
import type { Clock } from '../scheduler/clock.js';
import type { Rollout } from './rollout.js';
import { runReplay } from '../replay/run.js';
import type { GateRunner } from './controller.js';
import type { Gate, GateOutcome } from './machine.js';

/** Data checks, as the checks module runs them (a summary per suite). */
export type DataCheckRunner = (opts: {
  pipeline: InForcePipeline;
  repo: RepoConfig | null;
  repoRoot: string;
  group: string;
  signal: AbortSignal;
  ledger?: ChildLedger;
}) => Promise<{ passed: boolean; summary: string; report: DataCheckReport; failed: number; evaluated: number }[]>;

export interface GateDeps {
  pipeline(name: string): InForcePipeline | undefined;
  repoConfig(): RepoConfig | null;
  repoRoot: string;
  /** Calls a candidate or current variant directly, and reads the traffic it captured. */
  platform: Pick<ServingPlatform, 'endpointOf' | 'capturedRequests'>;
  /** Runs integration tests as a step: same process handling, limits and logging as training steps. */
  executor: Executor;
  logs: LogWriter;
  dataChecks: DataCheckRunner;
  timeScale: number;
  /** The time of log lines and of the replay window's start. */
  clock: Clock;
  python?: string;
  /** Where the daemon records the checks' processes (integration tests run through `executor`, which records its own). */
  ledger?: ChildLedger;
  /** Replay progress, for status and the TUI. */
  onReplayProgress?(pipeline: string, group: string, done: number, total: number | null): void;
}

/** Integration tests get this long unless the step timeout says otherwise. */
const INTEGRATION_TIMEOUT_MS = 30 * 60_000;

export function createGateRunner(deps: GateDeps): GateRunner {
  return {
    async run(gate: Gate, r: Rollout, signal: AbortSignal): Promise<GateOutcome> {
      const p = deps.pipeline(r.pipeline);
      if (!p) return { passed: false, summary: `pipeline '${r.pipeline}' is no longer in the repo` };
      switch (gate) {
        case 'data_checks':
          return dataChecks(p, r, signal);
        case 'integration_tests':
          return integrationTests(p, r, signal);
        case 'replay':
          return replay(p, r, signal);
      }
    },
  };

  async function dataChecks(p: InForcePipeline, r: Rollout, signal: AbortSignal): Promise<GateOutcome> {
    const checks = p.config.pipeline.deployment.data_checks;
    if (checks.length === 0) return { passed: true, skipped: true, summary: 'no data checks configured (deployment.data_checks)' };
    // Every group's data is checked (a `sql:` query sees its group as :group).
    const results = [];
    for (const g of r.groups) {
      if (signal.aborted) throw new Error('data checks cancelled');
      const ofGroup = await deps.dataChecks({
        pipeline: p,
        repo: deps.repoConfig(),
        repoRoot: deps.repoRoot,
        group: g.group,
        signal,
        ...(deps.ledger ? { ledger: deps.ledger } : {}),
      });
      results.push(...ofGroup.map((x) => ({ ...x, group: g.group })));
    }
    const failed = results.filter((x) => !x.passed);
    const evaluated = results.reduce((n, x) => n + x.evaluated, 0);
    const failedExpectations = results.reduce((n, x) => n + x.failed, 0);
    const where = (x: { group: string }) => (r.groups.length > 1 ? `${x.group}: ` : '');
    return {
      passed: failed.length === 0,
      summary:
        failed.length === 0
          ? `${checks.length} ${plural(checks.length, 'suite')} passed (${evaluated} expectations${r.groups.length > 1 ? ` over ${r.groups.length} groups` : ''})`
          : failed.map((x) => where(x) + x.summary).join('; '),
      report: results.map((x) => x.report),
      observed: failedExpectations,
      threshold: 0,
      sample: { suites: checks.length, groups: r.groups.length, expectations: evaluated },
    };
  }

  async function integrationTests(p: InForcePipeline, r: Rollout, signal: AbortSignal): Promise<GateOutcome> {
    const command = integrationTestCommand(p.config.pipeline.deployment.integration_tests);
    if (!command) return { passed: true, skipped: true, summary: 'no integration tests configured (deployment.integration_tests)' };
    const failures: string[] = [];
    for (const g of r.groups) {
      const endpoint = deps.platform.endpointOf(r.pipeline, g.group, 'candidate');
      if (!endpoint) return { passed: false, summary: `the candidate of ${g.group} is not live` };
      const base = mkdtempSync(join(tmpdir(), 'mlp-it-'));
      const dirs = { model: join(base, 'model'), input: join(base, 'input'), output: join(base, 'output') };
      for (const d of Object.values(dirs)) mkdirSync(d);
      try {
        const outcome = await deps.executor.run(
          {
            pipeline: r.pipeline,
            pipelineDir: p.dir,
            step: 'integration_tests',
            command,
            group: g.group,
            runId: r.runId ?? `rollout-${r.id}`,
            timeoutMs: Math.max(1, Math.round(INTEGRATION_TIMEOUT_MS / deps.timeScale)),
            isTrain: false,
            dirs,
            instanceType: p.config.pipeline.training.instance_type,
            env: { ...endpoint.env, MLP_PIPELINE: r.pipeline },
          },
          {
            signal,
            onLine: (stream, line) =>
              deps.logs.write({
                at: deps.clock.now(),
                pipeline: r.pipeline,
                runId: r.runId,
                step: 'integration_tests',
                group: g.group,
                stream,
                line,
              }),
          },
        );
        if (outcome.status !== 'succeeded') failures.push(`${g.group}: ${outcome.reason}`);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    }
    return failures.length
      ? {
          passed: false,
          summary: `integration tests failed against the candidate: ${failures.join('; ')}`,
          observed: failures.length,
          threshold: 0,
          sample: { groups: r.groups.length },
        }
      : {
          passed: true,
          summary: `\`${command}\` passed against the candidate${r.groups.length > 1 ? ` of each of ${r.groups.length} groups` : ''}`,
          observed: 0,
          threshold: 0,
          sample: { groups: r.groups.length },
        };
  }

  async function replay(p: InForcePipeline, r: Rollout, signal: AbortSignal): Promise<GateOutcome> {
    const cfg = p.config.pipeline.deployment.replay;
    const reports: ReplayGateReport = {};
    const lines: string[] = [];
    let regressions = 0;
    let sent = 0;
    let failed = false;
    for (const g of r.groups) {
      const candidate = deps.platform.endpointOf(r.pipeline, g.group, 'candidate');
      const current = deps.platform.endpointOf(r.pipeline, g.group, 'current');
      if (!candidate) return { passed: false, summary: `the candidate of ${g.group} is not live` };
      if (!current && g.current !== null)
        return {
          passed: false,
          summary: `the current version (v${g.current}) of ${g.group} is not live: replay has nothing to compare the candidate with`,
        };
      if (!current) {
        reports[g.group] = { skipped: 'no current model in this group: nothing to compare against' };
        continue;
      }
      const captured = [];
      const since = deps.clock.now() - cfg.window_days * 86_400_000;
      for await (const request of deps.platform.capturedRequests(r.pipeline, g.group, { sinceMs: since, limit: cfg.requests })) {
        captured.push(request);
      }
      if (captured.length === 0) {
        reports[g.group] = {
          skipped: `no captured traffic for ${g.group} in the last ${cfg.window_days} ${plural(cfg.window_days, 'day')}`,
        };
        continue;
      }
      const report = await runReplay({
        requests: captured,
        candidate: { ...candidate, name: candidate.variant },
        current: { ...current, name: current.variant },
        concurrency: cfg.concurrency,
        timeoutMs: p.config.pipeline.serve.timeout_seconds * 1000,
        checks: cfg.checks,
        pipelineDir: p.dir,
        ...(deps.python ? { python: deps.python } : {}),
        ...(deps.ledger ? { ledger: deps.ledger } : {}),
        signal,
        onProgress: (progress) => deps.onReplayProgress?.(r.pipeline, g.group, progress.done, progress.total),
      });
      if (signal.aborted || report.cancelled) throw new Error('replay cancelled');
      reports[g.group] = report;
      regressions += report.regressions.count;
      sent += report.sent;
      if (report.verdict === 'fail') failed = true;
      lines.push(r.groups.length > 1 ? `${g.group}: ${report.reason}` : report.reason);
    }
    const replayed = Object.values(reports).filter((x): x is ReplayReport => !isSkipped(x));
    if (replayed.length === 0) {
      const why = Object.entries(reports).flatMap(([group, x]) =>
        isSkipped(x) ? [(r.groups.length > 1 ? `${group}: ` : '') + x.skipped] : [],
      );
      return {
        passed: true,
        skipped: true,
        summary: `replay skipped: ${why.join('; ')}`,
        report: reports,
        observed: 0,
        threshold: 0,
        sample: { requests: 0 },
      };
    }
    const took = replayed.reduce((ms, x) => ms + x.durationMs, 0);
    return {
      passed: !failed,
      summary: `${lines.join('; ')} (${sent} requests in ${formatDuration(took)})`,
      report: reports,
      observed: { regressions },
      threshold: { regressions: 0 },
      sample: { requests: sent },
    };
  }
}

/** The connection data checks use for `sql:` data by default: the one of groups.source. */
export function defaultConnection(config: PipelineConfig): string | undefined {
  const source = config.pipeline.groups.source;
  return source ? parseGroupSource(source)?.connection : undefined;
}
