/** A rollout's gates in words, the same in `mlp status` and the TUI: `✔ data checks: 3 suites passed`. */
import { plural } from '../shared/plural.js';
import type { RolloutView } from '../shared/protocol.js';
import { GATES, type Gate, type GateView } from '../shared/reports/gates.js';
import { UnreadableReport } from '../shared/reports/unreadable.js';
import { figure } from './components/common/format.js';
import type { ReplayCounts } from './replay.js';

/** The gates that ran, in the order they run. */
export function gatesRun(r: RolloutView | null | undefined): [Gate, GateView][] {
  return GATES.flatMap((gate): [Gate, GateView][] => {
    const g = r?.gates[gate];
    return g ? [[gate, g]] : [];
  });
}

export type GateTone = 'passed' | 'skipped' | 'failed';

export function gateTone(g: GateView): GateTone {
  return g.passed ? (g.skipped ? 'skipped' : 'passed') : 'failed';
}

const GLYPH: Record<GateTone, string> = { passed: '✔', skipped: '-', failed: '✖' };

/** `integration tests` */
export const gateName = (gate: Gate) => gate.replace('_', ' ');

/** `✖ replay: 2 of 100 requests that worked on v2 fail on v3` */
export function gateLine(gate: Gate, g: GateView): string {
  return `${GLYPH[gateTone(g)]} ${gateName(gate)}: ${g.summary}`;
}

/** Said under the gate's line when its report came in a shape this client does not know (a rollout stored by an older mlpd). */
export function unreadableReportLine(gate: Gate, g: GateView): string | null {
  return g.report instanceof UnreadableReport
    ? `  ${gateName(gate)} report not readable (${g.report.problem}); mlp status --json shows it as stored`
    : null;
}

/** `  replay london: 100 sent, 2 regressions, 0 flaky · ✔ p99 latency ≤ 1.5 × current (6.2 vs 7.4)` */
export function replayCountsLine(c: ReplayCounts): string {
  if ('skipped' in c) return `  replay ${c.group}: skipped, ${c.skipped}`;
  const checks = c.checks.map((k) => ` · ${k.passed ? '✔' : '✖'} ${k.rule} (${figure(k.observed)} vs ${figure(k.threshold)})`).join('');
  return `  replay ${c.group}: ${c.sent} sent, ${c.regressions} ${plural(c.regressions, 'regression')}, ${c.flaky} flaky${checks}`;
}
