/**
 * What to say about a run that was going when the daemon died. Its steps' processes were stopped at
 * the restart (children/reaper.ts) or had ended by themselves, and the words must say which: the
 * run cannot be resumed either way.
 */
import type { ReapedChild } from '../children/reaper.js';

/** One step's own reason, from what the reaper found of it (undefined: no process of it was left). */
export function interruptedStepReason(child: ReapedChild | undefined): string {
  if (!child) return 'mlpd stopped while this step was going; its result was not recorded';
  return `mlpd stopped while this step was running (${handleOf(child)}); ${fate(child)}`;
}

/** The run's reason: every step the reaper found for it, or that none was running. */
export function interruptedRunReason(children: readonly ReapedChild[]): string {
  if (children.length === 0)
    return 'mlpd stopped while the run was going (no step of it was left running on this machine); the run cannot be resumed';
  const steps = children.map(
    (c) => `step '${c.entry.purpose.run!.step}' (group ${c.entry.purpose.run!.group}, ${handleOf(c)}) was running; ${fate(c)}`,
  );
  return `mlpd stopped while ${steps.join('; ')}`;
}

function handleOf(child: ReapedChild): string {
  const e = child.entry;
  if (e.kind === 'container') return `container labelled mlp.child=${e.id}`;
  return e.pid !== undefined ? `pid ${e.pid}` : 'its pid not yet recorded';
}

function fate(child: ReapedChild): string {
  return child.outcome === 'stopped'
    ? 'it was stopped when mlpd restarted'
    : 'it had ended on its own by the restart, with its result unrecorded';
}
