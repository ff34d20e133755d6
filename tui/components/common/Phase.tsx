import { Text } from 'ink';
import type { RolloutPhase } from '../../../shared/protocol.js';
import { PHASE_COLOUR } from './format.js';

/** Names too long for the fleet's phase column, said whole in fewer letters (not cut to `integration t`). */
const SHORT: Record<string, string> = { integration_testing: 'testing' };

/** A summary or a full view: either has its rollout's phase. */
export function Phase({ pipeline, width }: { pipeline: { rollout?: { phase: RolloutPhase } | null }; width?: number }) {
  const phase = pipeline.rollout?.phase ?? 'idle';
  const full = phase.replace('_', ' ');
  const text = width && full.length > width && SHORT[phase] ? SHORT[phase] : full;
  return <Text color={PHASE_COLOUR[phase]}>{width ? text.padEnd(width).slice(0, width) : text}</Text>;
}
