/**
 * Cost estimates from plain facts (docs/costs.md): what a pipeline's last training run and its live
 * model servers would cost on SageMaker, as instance-hours × the price table. Runs and servers that
 * are local processes or containers cost nothing to AWS; the estimate says what the same work would
 * cost there, which is what a data scientist weighs before moving to the cloud.
 */
import type { PerformanceView } from '../../shared/protocol.js';
import { TRAIN_STEP } from '../../shared/config/schema.js';
import type { Run } from '../store/runs.js';
import type { StepRun } from '../store/step-runs.js';
import type { Variant } from '../store/variants.js';
import { priceOf, type PriceTable } from './prices.js';

export type TrainingEstimate = NonNullable<PerformanceView['training']>;
export type ServingEstimate = NonNullable<PerformanceView['serving']>;

const HOUR_MS = 3_600_000;
/** What "a month" of serving means in the estimate. */
export const HOURS_PER_30_DAYS = 720;

const spanMs = (s: Pick<StepRun, 'startedAt' | 'finishedAt'>) => (s.finishedAt === null ? 0 : Math.max(0, s.finishedAt - s.startedAt));

/**
 * A finished run priced as SageMaker training: every group's train step on its own instance of
 * `instanceType` for as long as it ran. The other steps (SageMaker Processing jobs with --cloud)
 * count in `computeMs` but are not priced: the estimate is of training.
 */
export function trainingEstimate(
  run: Pick<Run, 'id' | 'createdAt' | 'startedAt' | 'finishedAt'>,
  steps: Pick<StepRun, 'step' | 'executor' | 'startedAt' | 'finishedAt'>[],
  instanceType: string,
  prices: PriceTable,
): TrainingEstimate {
  const train = steps.filter((s) => s.step === TRAIN_STEP);
  const instanceHours = train.reduce((sum, s) => sum + spanMs(s), 0) / HOUR_MS;
  const usdPerHour = priceOf(prices.training, instanceType);
  return {
    runId: run.id,
    finishedAt: run.finishedAt,
    durationMs: run.finishedAt === null ? 0 : run.finishedAt - (run.startedAt ?? run.createdAt),
    computeMs: steps.reduce((sum, s) => sum + spanMs(s), 0),
    executor: train[0]?.executor ?? steps[0]?.executor ?? 'local',
    instanceType,
    instanceHours,
    usdPerHour,
    estimatedUsd: usdPerHour === null ? null : instanceHours * usdPerHour,
  };
}

/** The model servers running now (live or starting), each priced as one hosting instance; null when none runs. */
export function servingEstimate(
  variants: Pick<Variant, 'backend' | 'state'>[],
  instanceType: string,
  prices: PriceTable,
): ServingEstimate | null {
  const running = variants.filter((v) => v.state === 'live' || v.state === 'starting');
  if (running.length === 0) return null;
  const price = priceOf(prices.hosting, instanceType);
  const usdPerHour = price === null ? null : running.length * price;
  return {
    backend: [...new Set(running.map((v) => v.backend))].sort().join(', '),
    instanceType,
    instances: running.length,
    usdPerHour,
    estimatedUsdPer30Days: usdPerHour === null ? null : usdPerHour * HOURS_PER_30_DAYS,
  };
}
