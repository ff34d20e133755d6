/**
 * The built-in replay checks (docs/rollouts.md, "Replay"): `latency`, `distribution` and `max_abs_diff`.
 * Output checks see each request where both models answered without error, as parsed JSON, one at a time,
 * and keep only the values their path selects; `result()` turns those into a CheckResult. No I/O.
 */
import type { ReplayCheck } from '../../shared/config/schema.js';
import { jensenShannonDistance, ksDistance, normalisedWasserstein, psi, quantileSorted } from './distance.js';
import { parseJsonPath, selectJsonPath, type JsonPath } from './json-path.js';
import { quantileLabel, rounded, type CheckResult } from './report.js';

type LatencySpec = NonNullable<ReplayCheck['latency']>;
type DistributionSpec = NonNullable<ReplayCheck['distribution']>;
type MaxAbsDiffSpec = NonNullable<ReplayCheck['max_abs_diff']>;

/** A check over the answers of requests both models answered without error. */
export interface OutputCheck {
  observe(current: unknown, candidate: unknown, inferenceId: string | null): void;
  result(): CheckResult;
}

const ms = (n: number) => `${rounded(n, 4)} ms`;
const ascending = (a: number, b: number) => a - b;

/**
 * `latency`: the candidate's quantile against `max_ms`, or against `max_ratio` × the current model's same
 * quantile measured in the same replay. Latencies are of first attempts; `current` is null without a current model.
 */
export function latencyCheck(spec: LatencySpec, current: readonly number[] | null, candidate: readonly number[]): CheckResult {
  const label = quantileLabel(spec.quantile);
  const cand = quantileSorted([...candidate].sort(ascending), spec.quantile);
  const base = { kind: 'latency' as const };
  if (spec.max_ms !== undefined) {
    const rule = `${label} latency ≤ ${spec.max_ms} ms`;
    if (candidate.length === 0)
      return { ...base, rule, observed: null, threshold: spec.max_ms, passed: false, detail: 'no candidate latencies were measured' };
    return {
      ...base,
      rule,
      observed: rounded(cand),
      threshold: spec.max_ms,
      passed: cand <= spec.max_ms,
      detail: `candidate ${label} ${ms(cand)} over ${candidate.length} requests`,
    };
  }
  const ratio = spec.max_ratio!;
  const rule = `${label} latency ≤ ${ratio} × current`;
  if (current === null) {
    return {
      ...base,
      rule,
      observed: rounded(cand),
      threshold: null,
      passed: true,
      skipped: true,
      detail: 'no current model to compare with: not checked',
    };
  }
  if (current.length === 0 || candidate.length === 0) {
    return { ...base, rule, observed: null, threshold: null, passed: false, detail: 'no latencies were measured' };
  }
  const cur = quantileSorted([...current].sort(ascending), spec.quantile);
  const threshold = ratio * cur;
  return {
    ...base,
    rule,
    observed: rounded(cand),
    threshold: rounded(threshold),
    passed: cand <= threshold,
    detail: `candidate ${label} ${ms(cand)}, current ${label} ${ms(cur)} (${rounded(cur > 0 ? cand / cur : Infinity, 3) ?? '∞'}×), side by side over ${candidate.length} requests`,
  };
}

/** A check of the same kind that cannot run without a current model: reported, never blocking. */
export function skippedWithoutCurrent(check: ReplayCheck): CheckResult {
  const kind = check.distribution ? 'distribution' : 'max_abs_diff';
  return {
    kind,
    rule: check.distribution ? distributionRule(check.distribution) : maxAbsDiffRule(check.max_abs_diff!),
    observed: null,
    threshold: check.distribution?.max ?? check.max_abs_diff?.max ?? null,
    passed: true,
    skipped: true,
    detail: 'no current model to compare with: not checked',
  };
}

const METRIC_NAMES: Record<DistributionSpec['metric'], string> = {
  psi: 'PSI',
  ks: 'KS distance',
  wasserstein: 'Wasserstein-1 / σ(current)',
  jensen_shannon: 'Jensen–Shannon distance',
};

function distributionRule(spec: DistributionSpec): string {
  return `${METRIC_NAMES[spec.metric]} of ${spec.path} ≤ ${spec.max}`;
}

function maxAbsDiffRule(spec: MaxAbsDiffSpec): string {
  return `|candidate − current| at ${spec.path} ≤ ${spec.max}`;
}

/** A path the check cannot use fails the check (and so the gate) with the parser's message. */
function compilePath(text: string): JsonPath | string {
  try {
    return parseJsonPath(text);
  } catch (err) {
    return (err as Error).message;
  }
}

/** `distribution`: the values at `path` over all requests, candidate vs current, by `metric`. */
export function distributionCheck(spec: DistributionSpec): OutputCheck {
  const rule = distributionRule(spec);
  const path = compilePath(spec.path);
  const categorical = spec.metric === 'jensen_shannon';
  const cur: (number | string)[] = [];
  const cand: (number | string)[] = [];
  let notNumbers = 0;
  const take = (values: unknown[], into: (number | string)[]) => {
    for (const v of values) {
      if (categorical) into.push(typeof v === 'string' ? v : JSON.stringify(v));
      else if (typeof v === 'number' && Number.isFinite(v)) into.push(v);
      else notNumbers++;
    }
  };
  return {
    observe(current, candidate) {
      if (typeof path === 'string') return;
      take(selectJsonPath(path, current), cur);
      take(selectJsonPath(path, candidate), cand);
    },
    result() {
      const base = { kind: 'distribution' as const, rule, threshold: spec.max };
      if (typeof path === 'string') return { ...base, observed: null, passed: false, detail: path };
      const kind = categorical ? 'values' : 'numbers';
      if (cur.length === 0 || cand.length === 0) {
        const side = cur.length === 0 ? "current model's" : "candidate's";
        const why = notNumbers > 0 ? ` (${notNumbers} values there are not numbers: for categories use metric jensen_shannon)` : '';
        return { ...base, observed: null, passed: false, detail: `no ${kind} at ${spec.path} in the ${side} answers${why}` };
      }
      const value = metric(spec.metric, cur, cand);
      const ignored = notNumbers > 0 ? `; ${notNumbers} values that are not numbers ignored` : '';
      return {
        ...base,
        observed: rounded(value),
        passed: value <= spec.max,
        detail: `${cur.length} current and ${cand.length} candidate ${kind}; ${categorical ? shares(cur as string[], cand as string[]) : means(cur as number[], cand as number[])}${ignored}`,
      };
    },
  };
}

function metric(m: DistributionSpec['metric'], cur: (number | string)[], cand: (number | string)[]): number {
  switch (m) {
    case 'psi':
      return psi(cur as number[], cand as number[]);
    case 'ks':
      return ksDistance(cur as number[], cand as number[]);
    case 'wasserstein':
      return normalisedWasserstein(cur as number[], cand as number[]);
    case 'jensen_shannon':
      return jensenShannonDistance(cur as string[], cand as string[]);
  }
}

function means(cur: number[], cand: number[]): string {
  const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  return `mean ${rounded(mean(cur))} → ${rounded(mean(cand))}`;
}

/** The most common categories' shares on both sides, for a person to see what moved. */
function shares(cur: string[], cand: string[]): string {
  const tally = (xs: string[]) => {
    const m = new Map<string, number>();
    for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
    return m;
  };
  const a = tally(cur);
  const b = tally(cand);
  const top = [...new Set([...a.keys(), ...b.keys()])]
    .sort((x, y) => (b.get(y) ?? 0) + (a.get(y) ?? 0) - (b.get(x) ?? 0) - (a.get(x) ?? 0))
    .slice(0, 5);
  const pct = (n: number | undefined, of: number) => `${rounded(((n ?? 0) / of) * 100, 3)}%`;
  return top.map((k) => `${k} ${pct(a.get(k), cur.length)} → ${pct(b.get(k), cand.length)}`).join(', ');
}

/**
 * `max_abs_diff`: the largest |candidate − current| at `path`, request by request (a path selecting several
 * values pairs them by position). A request where the current model has a number and the candidate has
 * none there (or a different count) fails the check too.
 */
export function maxAbsDiffCheck(spec: MaxAbsDiffSpec): OutputCheck {
  const rule = maxAbsDiffRule(spec);
  const path = compilePath(spec.path);
  let pairs = 0;
  let worst = -1;
  let worstAt: { inferenceId: string | null; current: number; candidate: number } | null = null;
  let missing = 0;
  let firstMissing: string | null = null;
  return {
    observe(current, candidate, inferenceId) {
      if (typeof path === 'string') return;
      const a = selectJsonPath(path, current);
      const b = selectJsonPath(path, candidate);
      let lost = a.length !== b.length && a.some(isNumber);
      for (let i = 0; i < Math.min(a.length, b.length); i++) {
        const x = a[i];
        const y = b[i];
        if (!isNumber(x)) continue;
        if (!isNumber(y)) {
          lost = true;
          continue;
        }
        pairs++;
        const d = Math.abs(y - x);
        if (d > worst) {
          worst = d;
          worstAt = { inferenceId, current: x, candidate: y };
        }
      }
      if (lost) {
        missing++;
        firstMissing ??= inferenceId ?? '(no id)';
      }
    },
    result() {
      const base = { kind: 'max_abs_diff' as const, rule, threshold: spec.max };
      if (typeof path === 'string') return { ...base, observed: null, passed: false, detail: path };
      if (pairs === 0 && missing === 0)
        return { ...base, observed: null, passed: false, detail: `no numbers at ${spec.path} in the current model's answers` };
      const parts: string[] = [];
      if (worstAt) {
        const w = worstAt as { inferenceId: string | null; current: number; candidate: number };
        parts.push(
          `largest on request ${w.inferenceId ?? '(no id)'}: current ${w.current}, candidate ${w.candidate}; ${pairs} values compared`,
        );
      }
      if (missing > 0)
        parts.push(
          `${missing} requests where the candidate has no number at ${spec.path} where the current model has one (first: ${firstMissing})`,
        );
      return {
        ...base,
        observed: pairs > 0 ? rounded(worst, 6) : null,
        passed: missing === 0 && worst <= spec.max,
        detail: parts.join('; '),
      };
    },
  };
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}
