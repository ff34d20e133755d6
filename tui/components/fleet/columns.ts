/** Fleet table column widths for a terminal width: the name takes what is left; "last run" only when there is room. */
export interface FleetColumns {
  name: number;
  phase: number;
  versions: number;
  bar: number;
  error: number;
  lastRun: number;
}

export function fleetColumns(width: number): FleetColumns {
  const fixed = { phase: 13, versions: 10, bar: 10, error: 13 };
  // marker (2) + gaps between columns + the bar's label (8)
  const used = 2 + fixed.phase + fixed.versions + fixed.bar + 8 + fixed.error + 5;
  const lastRun = width - used >= 40 ? 16 : 0;
  return { ...fixed, lastRun, name: Math.max(8, width - used - (lastRun ? lastRun + 1 : 0)) };
}
