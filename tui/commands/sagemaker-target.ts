/**
 * Which SageMaker endpoint and variant `mlp invoke` calls for a pipeline served on SageMaker, from what
 * the daemon says about it: the same group rule as the router (one group needs no --group), the
 * endpoint name the daemon gives (its platform names the endpoints), and `--variant` as TargetVariant.
 */
import { MlpError, usageError } from '../../shared/errors.js';
import type { PipelineView, SageMakerServingView } from '../../shared/protocol.js';

export interface SageMakerTarget {
  group: string;
  endpoint: string;
  /** mlp.yaml `aws.region`; undefined: the AWS configuration of this shell decides. */
  region?: string;
  /** TargetVariant: `v3`; undefined lets the endpoint's weights choose. */
  variant?: string;
}

export function sageMakerTarget(
  p: PipelineView & { sagemaker: SageMakerServingView },
  opts: { group?: string; variant?: string },
): SageMakerTarget {
  const groups = Object.keys(p.sagemaker.endpoints);
  let group = opts.group;
  if (group === undefined) {
    if (groups.length !== 1) {
      throw usageError(
        groups.length === 0
          ? `mlp invoke: pipeline '${p.name}' has no groups yet${p.groupsError ? ` (${p.groupsError})` : ''}: name one with --group`
          : `mlp invoke: pipeline '${p.name}' has ${groups.length} groups (${groups.join(', ')}): name one with --group`,
      );
    }
    group = groups[0]!;
  }
  const endpoint = p.sagemaker.endpoints[group];
  if (endpoint === undefined) {
    throw new MlpError(
      'not_found',
      `pipeline '${p.name}' has no group '${group}'${groups.length ? ` (groups: ${groups.join(', ')})` : ''}`,
    );
  }
  const variant = opts.variant === undefined ? undefined : variantName(p, group, opts.variant);
  return {
    group,
    endpoint,
    ...(p.sagemaker.region !== null ? { region: p.sagemaker.region } : {}),
    ...(variant !== undefined ? { variant } : {}),
  };
}

/** `v3` as it is; `current` / `candidate` (as the router takes them) the group's variant in that role. */
function variantName(p: PipelineView, group: string, variant: string): string {
  if (variant !== 'current' && variant !== 'candidate') return variant;
  const match = p.variants.find((v) => v.group === group && v.role === variant);
  if (!match)
    throw new MlpError(
      'not_found',
      `pipeline '${p.name}' group '${group}' has no ${variant} variant right now ('mlp status ${p.name}' shows its variants)`,
    );
  return match.variant;
}
