/** A pipeline's rollout settings as the state machine uses them, durations divided by --time-scale. */
import type { PipelineConfig, RepoConfig } from '../../shared/config/schema.js';
import type { RolloutPolicy } from './machine.js';

/** How often a rollout waiting for room in the server budget tries again (divided by the time scale too). */
const SERVER_BUDGET_RETRY_MS = 5_000;

export function rolloutPolicy(config: PipelineConfig, timeScale = 1, repo?: RepoConfig | null): RolloutPolicy {
  const { rollout, rollback } = config.pipeline.deployment;
  const scaled = (ms: number) => Math.max(1, Math.round(ms / timeScale));
  return {
    serverBudgetWaitMs: scaled((repo?.serving?.budget_wait_minutes ?? 30) * 60_000),
    serverBudgetRetryMs: scaled(SERVER_BUDGET_RETRY_MS),
    strategy: rollout.strategy,
    initialTraffic: rollout.initial_traffic,
    stepPercent: rollout.step_percent,
    stepIntervalMs: Math.max(1, Math.round((rollout.step_interval_minutes * 60_000) / timeScale)),
    errorRateAbove: rollback.on_error_rate_above,
    minRequests: rollback.min_requests,
    latencyP99AboveMs: rollback.on_latency_p99_above_ms ?? null,
  };
}
