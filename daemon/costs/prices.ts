/**
 * What SageMaker instances cost, for the estimates in `mlp status` and the TUI (docs/costs.md): a
 * dated copy of the on-demand list prices in USD per instance-hour, which mlp.yaml `prices` may
 * override per instance type. A copy goes stale, so the date and the source travel with every
 * estimate; mlp never calls the AWS Pricing API (it needs credentials and is slow).
 */
import type { RepoConfig } from '../../shared/config/schema.js';

export interface PriceTable {
  /** The day the prices were copied. */
  asOf: string;
  region: string;
  /** `built-in`, or `mlp.yaml` once the repo overrides anything. */
  source: 'built-in' | 'mlp.yaml';
  /** USD per hour of one training instance, by instance type. */
  training: Readonly<Record<string, number>>;
  /** USD per hour of one real-time hosting instance, by instance type. */
  hosting: Readonly<Record<string, number>>;
}

/**
 * SageMaker on-demand list prices, us-east-1, as copied on `asOf`. The ml.t2 types and ml.c5.large
 * are offered for hosting only (they are not among the SDK's training instance types), so training
 * has no price for them.
 */
export const BUILT_IN_PRICES: PriceTable = {
  asOf: '2026-11-01',
  region: 'us-east-1',
  source: 'built-in',
  training: {
    'ml.m4.xlarge': 0.24,
    'ml.m5.large': 0.115,
    'ml.m5.xlarge': 0.23,
    'ml.m5.2xlarge': 0.461,
    'ml.m5.4xlarge': 0.922,
    'ml.m5.12xlarge': 2.765,
    'ml.c5.xlarge': 0.204,
    'ml.c5.2xlarge': 0.408,
    'ml.c5.4xlarge': 0.816,
    'ml.r5.large': 0.151,
    'ml.r5.xlarge': 0.302,
    'ml.p3.2xlarge': 3.825,
    'ml.g4dn.xlarge': 0.736,
    'ml.g4dn.2xlarge': 1.053,
    'ml.g5.xlarge': 1.408,
  },
  hosting: {
    'ml.t2.medium': 0.056,
    'ml.t2.large': 0.111,
    'ml.m4.xlarge': 0.24,
    'ml.m5.large': 0.115,
    'ml.m5.xlarge': 0.23,
    'ml.m5.2xlarge': 0.461,
    'ml.m5.4xlarge': 0.922,
    'ml.m5.12xlarge': 2.765,
    'ml.c5.large': 0.102,
    'ml.c5.xlarge': 0.204,
    'ml.c5.2xlarge': 0.408,
    'ml.c5.4xlarge': 0.816,
    'ml.r5.large': 0.151,
    'ml.r5.xlarge': 0.302,
    'ml.p3.2xlarge': 3.825,
    'ml.g4dn.xlarge': 0.736,
    'ml.g4dn.2xlarge': 1.053,
    'ml.g5.xlarge': 1.408,
  },
};

/** The prices in force: mlp.yaml's entries over the built-in ones (an mlp.yaml without `prices` changes nothing). */
export function priceTable(override: RepoConfig['prices'] | undefined, builtIn: PriceTable = BUILT_IN_PRICES): PriceTable {
  if (!override) return builtIn;
  return {
    asOf: override.as_of ?? builtIn.asOf,
    region: override.region ?? builtIn.region,
    source: 'mlp.yaml',
    training: { ...builtIn.training, ...override.training },
    hosting: { ...builtIn.hosting, ...override.hosting },
  };
}

/** USD per hour of one instance of `type`, or null when the table does not list it. */
export function priceOf(list: Readonly<Record<string, number>>, type: string): number | null {
  return Object.hasOwn(list, type) ? list[type]! : null;
}
