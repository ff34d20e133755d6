import { Text } from 'ink';
import type { PipelineView } from '../../../shared/protocol.js';
import { PHASE_COLOUR } from './format.js';

export function Phase({ pipeline, width }: { pipeline: PipelineView; width?: number }) {
  const phase = pipeline.rollout?.phase ?? 'idle';
  const text = phase.replace('_', ' ');
  return <Text color={PHASE_COLOUR[phase]}>{width ? text.padEnd(width).slice(0, width) : text}</Text>;
}
