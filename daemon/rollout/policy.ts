/** A pipeline's rollout settings as the state machine uses them, durations divided by --time-scale. */
import type { PipelineConfig } from '../../shared/config/schema.js';
import type { RolloutPolicy } from './machine.js';

export function rolloutPolicy(config: PipelineConfig, timeScale = 1): RolloutPolicy {
  const { rollout, rollback } = config.pipeline.deployment;
  return {
    strategy: rollout.strategy,
    initialTraffic: rollout.initial_traffic,
    stepPercent: rollout.step_percent,
    stepIntervalMs: Math.max(1, Math.round((rollout.step_interval_minutes * 60_000) / timeScale)),
    errorRateAbove: rollback.on_error_rate_above,
    minRequests: rollback.min_requests,
    latencyP99AboveMs: rollback.on_latency_p99_above_ms ?? null,
  };
}
