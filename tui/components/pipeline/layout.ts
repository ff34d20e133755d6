/**
 * The pipeline view's line budget. The rollout's own lines (title, traffic, gates, replay) always
 * show; the lines left go, most useful first, to the failing data checks, the latency line, the
 * trends, the costs, and last the decisions, so the timeline is what shrinks first.
 */
export interface PipelineLayout {
  dataChecks: number;
  latency: number;
  trends: number;
  costs: number;
  timeline: number;
}

/** `fixed`: lines the rollout's own parts take; `wants`: lines each flexible part would take with room to spare. */
export function pipelineLayout(
  height: number,
  fixed: number,
  wants: { dataChecks: number; trends: number; costs: number },
): PipelineLayout {
  let left = Math.max(0, height - fixed);
  const take = (want: number) => {
    const n = Math.min(want, left);
    left -= n;
    return n;
  };
  const dataChecks = take(wants.dataChecks);
  const latency = take(1);
  const trends = take(wants.trends);
  const costs = take(wants.costs);
  return { dataChecks, latency, trends, costs, timeline: left };
}
