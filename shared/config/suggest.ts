/**
 * "Did you mean ...?" for keys and enum values. A suggestion that is not close is worse than none
 * (it sends the reader after the wrong key), so the distance allowed grows slowly with length.
 */

/** Optimal string alignment distance: Levenshtein plus transposition of two adjacent letters. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/** How many edits still read as a typo of a word this long: 1 up to 4 letters, then one per 4 more, at most 3. */
function allowedEdits(length: number): number {
  return Math.min(3, Math.max(1, Math.floor(length / 4)));
}

/**
 * The candidate closest to `word` (case-insensitive), or undefined when none is close enough.
 * Ties go to the earlier candidate, so pass candidates in a meaningful order (schema order).
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const distance = editDistance(w, c.toLowerCase());
    if (distance < bestDistance) {
      best = c;
      bestDistance = distance;
    }
  }
  if (best === undefined || best === word) return undefined;
  return bestDistance <= allowedEdits(Math.max(w.length, best.length)) ? best : undefined;
}

/** " (did you mean 'x'?)" or the empty string. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const match = closest(word, candidates);
  return match === undefined ? '' : ` (did you mean '${match}'?)`;
}
