/**
 * Live traffic moves the fleet list's latency and candidate error rate. A summary costs a full
 * view, so traffic refreshes it with each history point (5 s), and with each metrics tick only
 * while a rollout is under way, whose candidate's error rate people watch.
 */
import type { DaemonEvent } from '../shared/protocol.js';

/** The pipelines whose summaries this traffic event moves enough to send again. */
export function summariesMovedBy(event: DaemonEvent, rolloutUnderWay: (pipeline: string) => boolean): string[] {
  if (event.kind === 'history') return event.pipelines.map((p) => p.pipeline);
  if (event.kind === 'metrics') return [...new Set(event.variants.map((v) => v.pipeline))].filter(rolloutUnderWay);
  return [];
}
