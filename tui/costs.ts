/**
 * What a pipeline costs, in words: the daemon's estimates (instance-hours × a dated price table of
 * SageMaker list prices, docs/costs.md) as the pipeline view and `mlp status` show them. Estimates
 * for work that ran here say what it would cost on SageMaker.
 */
import { formatDuration } from '../shared/duration.js';
import type { PerformanceView } from '../shared/protocol.js';
import { usd } from './components/common/format.js';

type Training = NonNullable<PerformanceView['training']>;
type Serving = NonNullable<PerformanceView['serving']>;

/** The newest training run that succeeded: how long it took and where (first line), and what it cost or would cost (second). */
export function trainingText(t: Training | null): [string] | [string, string] {
  if (!t) return ['no training run has succeeded yet'];
  const local = t.executor !== 'cloud';
  const where = local ? `ran locally${t.executor === 'docker' ? ' in Docker' : ''}` : 'on SageMaker';
  const first = `last run ${formatDuration(t.durationMs)}, ${formatDuration(t.computeMs)} compute, ${where}`;
  // A few seconds of training is a sliver of an instance-hour: say so rather than "0".
  const h = t.instanceHours > 0 && t.instanceHours < 0.01 ? '<0.01' : String(+t.instanceHours.toFixed(2));
  const hours = `${h} instance-hour${t.instanceHours === 1 ? '' : 's'}`;
  if (t.estimatedUsd === null) return [first, `no estimate: ${t.instanceType} is not in the price table (${hours})`];
  return [first, `${local ? 'would cost ' : ''}${approx(t.estimatedUsd)} on ${local ? 'SageMaker ' : ''}${t.instanceType} (${hours})`];
}

/** `2 instances × ml.m5.large ≈ $0.23/hour, $166 per 30 days (runs locally)`. */
export function servingText(s: Serving | null): string {
  if (!s) return 'no model server live';
  const fleet = `${s.instances} instance${s.instances === 1 ? '' : 's'} × ${s.instanceType}`;
  // Model servers run here today; the figure is what SageMaker hosting would charge for them.
  const here = s.backend === 'sagemaker' ? '' : ` (runs ${s.backend === 'docker' ? 'in Docker' : 'locally'})`;
  if (s.usdPerHour === null || s.estimatedUsdPer30Days === null)
    return `${fleet}: no estimate, ${s.instanceType} is not in the price table${here}`;
  return `${fleet} ${approx(s.usdPerHour)}/hour, ${usd(s.estimatedUsdPer30Days)} per 30 days${here}`;
}

/** `≈ $0.23`, or `<$0.01`, which is approximate already. */
function approx(n: number): string {
  const text = usd(n);
  return text.startsWith('<') ? text : `≈ ${text}`;
}

/** Which price table the estimates come from: `us-east-1 list prices of 2026-11-01`, or mlp.yaml's. */
export function priceTable(prices: PerformanceView['prices']): string {
  return prices.source === 'built-in'
    ? `${prices.region} list prices of ${prices.asOf}`
    : `${prices.region} prices of ${prices.asOf} from ${prices.source}`;
}

export const pricesText = (prices: PerformanceView['prices']) => `${priceTable(prices)}: estimates (docs/costs.md)`;

/** `$166/mo`: the serving estimate in a few characters (null without one). */
export function servingPerMonth(s: Pick<Serving, 'estimatedUsdPer30Days'> | null): string | null {
  return s?.estimatedUsdPer30Days != null ? `${usd(s.estimatedUsdPer30Days)}/mo` : null;
}
