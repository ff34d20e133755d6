/**
 * How far the candidate's outputs moved from the current model's on the same replayed inputs
 * (docs/rollouts.md, "Replay"). Pure functions over plain arrays; `current` is always the reference.
 *
 * - PSI: bins are the deciles of the current's values (open-ended outer bins, so no value falls outside),
 *   Σ (a − e) · ln(a / e) with e the current's share and a the candidate's; an empty bin counts as 0.0001.
 * - KS distance: max |F_current(x) − F_candidate(x)| over the empirical CDFs.
 * - Wasserstein-1 (area between the two empirical CDFs), divided by the current's population standard
 *   deviation (at least 0.001, so constant outputs do not divide by zero).
 * - Jensen–Shannon distance of categorical shares: √JS divergence with log base 2, so it lies in [0, 1].
 */

/** A bin's share when it is empty: PSI's logarithm needs both shares above zero. */
export const PSI_EMPTY_SHARE = 0.0001;
export const PSI_BINS = 10;
/** The least standard deviation Wasserstein-1 is divided by. */
export const MIN_STD = 0.001;

const ascending = (a: number, b: number) => a - b;

/**
 * The `q`-quantile of ascending `sorted` values by linear interpolation between the closest ranks (numpy's
 * default, Hyndman–Fan type 7). NaN for no values.
 */
export function quantileSorted(sorted: readonly number[], q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const pos = (n - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Population Stability Index of `candidate` against `current` (10 decile bins of `current`). */
export function psi(current: readonly number[], candidate: readonly number[]): number {
  if (current.length === 0 || candidate.length === 0) return NaN;
  const ref = [...current].sort(ascending);
  const edges: number[] = [];
  for (let i = 1; i < PSI_BINS; i++) {
    const e = quantileSorted(ref, i / PSI_BINS);
    // Ties make equal deciles: one edge each, or the bins between would always be empty on both sides.
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  const e = shares(binCounts(current, edges), current.length);
  const a = shares(binCounts(candidate, edges), candidate.length);
  let sum = 0;
  for (let i = 0; i < e.length; i++) sum += (a[i]! - e[i]!) * Math.log(a[i]! / e[i]!);
  return sum;
}

/** Counts per bin: bin i holds edges[i-1] < x <= edges[i]; the first and last bins are open-ended. */
function binCounts(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) {
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v <= edges[mid]!) hi = mid;
      else lo = mid + 1;
    }
    counts[lo]!++;
  }
  return counts;
}

function shares(counts: number[], n: number): number[] {
  return counts.map((c) => (c === 0 ? PSI_EMPTY_SHARE : c / n));
}

/** Kolmogorov–Smirnov distance: the largest gap between the two empirical CDFs. */
export function ksDistance(current: readonly number[], candidate: readonly number[]): number {
  if (current.length === 0 || candidate.length === 0) return NaN;
  let d = 0;
  walkCdfs(current, candidate, (f1, f2) => {
    d = Math.max(d, Math.abs(f1 - f2));
  });
  return d;
}

/** Wasserstein-1 distance divided by the current's standard deviation (at least MIN_STD). */
export function normalisedWasserstein(current: readonly number[], candidate: readonly number[]): number {
  if (current.length === 0 || candidate.length === 0) return NaN;
  return wasserstein1(current, candidate) / Math.max(standardDeviation(current), MIN_STD);
}

/** The area between the two empirical CDFs (earth mover's distance in one dimension). */
export function wasserstein1(a: readonly number[], b: readonly number[]): number {
  if (a.length === 0 || b.length === 0) return NaN;
  let area = 0;
  walkCdfs(a, b, (f1, f2, x, next) => {
    if (next !== undefined) area += Math.abs(f1 - f2) * (next - x);
  });
  return area;
}

/** Population standard deviation (divides by n). */
export function standardDeviation(values: readonly number[]): number {
  const n = values.length;
  if (n === 0) return NaN;
  let mean = 0;
  for (const v of values) mean += v;
  mean /= n;
  let ss = 0;
  for (const v of values) ss += (v - mean) ** 2;
  return Math.sqrt(ss / n);
}

/**
 * Calls `at(F_a(x), F_b(x), x, nextX)` at every distinct value x of either sample, ascending, with both
 * empirical CDFs evaluated at x (right-continuous) and the next distinct value (undefined after the last).
 */
function walkCdfs(
  a: readonly number[],
  b: readonly number[],
  at: (fa: number, fb: number, x: number, next: number | undefined) => void,
): void {
  const sa = [...a].sort(ascending);
  const sb = [...b].sort(ascending);
  let i = 0;
  let j = 0;
  while (i < sa.length || j < sb.length) {
    const x = Math.min(i < sa.length ? sa[i]! : Infinity, j < sb.length ? sb[j]! : Infinity);
    while (i < sa.length && sa[i]! <= x) i++;
    while (j < sb.length && sb[j]! <= x) j++;
    const next = Math.min(i < sa.length ? sa[i]! : Infinity, j < sb.length ? sb[j]! : Infinity);
    at(i / sa.length, j / sb.length, x, next === Infinity ? undefined : next);
  }
}

/** Jensen–Shannon distance (log base 2, in [0, 1]) between the category shares of two samples. */
export function jensenShannonDistance(current: readonly string[], candidate: readonly string[]): number {
  if (current.length === 0 || candidate.length === 0) return NaN;
  const p = categoryShares(current);
  const q = categoryShares(candidate);
  let divergence = 0;
  for (const k of new Set([...p.keys(), ...q.keys()])) {
    const pk = p.get(k) ?? 0;
    const qk = q.get(k) ?? 0;
    const m = (pk + qk) / 2;
    if (pk > 0) divergence += 0.5 * pk * Math.log2(pk / m);
    if (qk > 0) divergence += 0.5 * qk * Math.log2(qk / m);
  }
  // Rounding can leave a hair below zero for identical shares.
  return Math.sqrt(Math.max(0, divergence));
}

function categoryShares(values: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  for (const [k, c] of counts) counts.set(k, c / values.length);
  return counts;
}
