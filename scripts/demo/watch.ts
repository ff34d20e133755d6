/**
 * Following the daemon as a user would: `mlp status --json`, polled. Narrates each rollout as it
 * goes (phases, and every decision the daemon records) and resolves when it ends.
 */
import type { PipelineView, RolloutView } from '../../shared/protocol.js';

export const FINAL_PHASES = new Set(['promoted', 'blocked', 'rolled_back', 'failed']);
const POLL_MS = 500;
const UNSUCCESSFUL_RUNS = new Set(['failed', 'cancelled', 'skipped']);

export type Status = () => Promise<PipelineView[]>;

/**
 * Waits for the rollout of `version` of `pipeline` to end, printing its decisions as they are made.
 * Fails when the run that should train it fails, or after `timeoutMs`.
 */
export async function followRollout(
  status: Status,
  pipeline: string,
  version: string,
  opts: { since: number; timeoutMs: number; say(line: string): void },
): Promise<RolloutView> {
  const deadline = Date.now() + opts.timeoutMs;
  let printed = 0;
  let phase = '';
  let trained = false;
  for (;;) {
    const p = (await status()).find((x) => x.name === pipeline);
    const rollout = p?.rollout?.candidateVersion === version ? p.rollout : undefined;
    const failedRun = p?.runs.find((r) => r.createdAt >= opts.since && UNSUCCESSFUL_RUNS.has(r.status));
    if (!rollout && failedRun) {
      throw new Error(
        `the run ${failedRun.id} of ${pipeline} ${failedRun.status}: ${failedRun.reason ?? 'no reason given'} (mlp tail ${pipeline})`,
      );
    }
    if (rollout) {
      if (!trained) {
        trained = true;
        opts.say(`  ${pipeline}: trained ${version} of ${rollout.groups.map((g) => g.group).join(', ')}; its rollout starts`);
      }
      for (const d of rollout.decisions.slice(printed))
        opts.say(`    ${clock(d.at)} ${d.phase.padEnd(19)} ${d.rule} → ${d.verdict}: ${d.reason}`);
      printed = rollout.decisions.length;
      if (rollout.phase !== phase && rollout.phase === 'shifting')
        opts.say(`    ${clock(Date.now())} ${version} now gets live traffic, watched for errors`);
      phase = rollout.phase;
      if (FINAL_PHASES.has(rollout.phase)) return rollout;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${version} of ${pipeline} did not finish its rollout within ${opts.timeoutMs / 1000} s (last phase: ${phase || 'not started'})`,
      );
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** The requests replay found failing on the candidate, as `group: request → current answer / candidate answer` lines. */
export function failingRequests(rollout: RolloutView, limit: number): string[] {
  const report = rollout.gates.replay?.report as Record<string, { regressions?: { count: number; samples: ReplaySample[] } }> | undefined;
  const lines: string[] = [];
  for (const [group, r] of Object.entries(report ?? {})) {
    for (const s of r.regressions?.samples ?? []) {
      lines.push(
        `${group}: ${s.request.body}  ${rollout.currentVersion ?? 'current'}: ${s.current?.status} ${s.current?.body}  ${rollout.candidateVersion}: ${s.candidate.status} ${s.candidate.body}`,
      );
    }
  }
  return lines.slice(0, limit);
}

interface ReplaySample {
  request: { body: string };
  current: { status: number | null; body: string } | null;
  candidate: { status: number | null; body: string };
}

export function clock(at: number): string {
  return new Date(at).toISOString().slice(11, 19);
}
