/**
 * Fleet table column widths for a terminal width. The marker, name, phase, traffic and candidate
 * error rate always show; the other columns join in order of use while the name keeps MIN_NAME
 * characters, and what is left widens the name. A width of 0 hides a column.
 */
export interface FleetColumns {
  name: number;
  phase: number;
  versions: number;
  /** The traffic bar; its `cur|cand` label takes 8 more. */
  bar: number;
  error: number;
  next: number;
  latency: number;
  cost: number;
  lastRun: number;
}

const MIN_NAME = 14;
const BAR_MIN = 3;
const BAR_MAX = 10;
export const BAR_LABEL = 8;

/**
 * Most useful first. At 80 columns the next step and the versions fit; latency, a full-width bar,
 * the serving cost and the last run follow as the terminal widens.
 */
const OPTIONAL: ReadonlyArray<readonly [keyof FleetColumns, number]> = [
  ['next', 15],
  ['versions', 8],
  ['latency', 9],
  ['bar', BAR_MAX - BAR_MIN],
  ['cost', 10],
  ['lastRun', 16],
];

export function fleetColumns(width: number): FleetColumns {
  const cols: FleetColumns = { name: 0, phase: 13, versions: 0, bar: BAR_MIN, error: 11, next: 0, latency: 0, cost: 0, lastRun: 0 };
  // The marker takes 2; every column after the name is one space after the previous one.
  let spare = width - (2 + 1 + cols.phase + 1 + cols.bar + BAR_LABEL + 1 + cols.error) - MIN_NAME;
  for (const [key, w] of OPTIONAL) {
    // Widening the bar adds no gap; a new column does.
    const needs = key === 'bar' ? w : w + 1;
    if (needs > spare) continue;
    cols[key] += w;
    spare -= needs;
  }
  return { ...cols, name: Math.max(4, MIN_NAME + spare) };
}

/** The column titles, laid out like the rows. */
export function fleetHeader(cols: FleetColumns): string {
  const cell = (title: string, w: number) => (w ? ` ${title.padEnd(w)}` : '');
  const traffic = cols.bar + BAR_LABEL >= 16 ? 'TRAFFIC cur|cand' : 'TRAFFIC';
  return (
    `  ${'PIPELINE'.padEnd(cols.name)}${cell('PHASE', cols.phase)}${cell('VERSIONS', cols.versions)}${cell(traffic, cols.bar + BAR_LABEL)}` +
    `${cell('CAND ERR', cols.error)}${cell('NEXT', cols.next)}${cell('P50/P99', cols.latency)}${cell('SERVING', cols.cost)}${cell('LAST RUN', cols.lastRun)}`
  ).trimEnd();
}
