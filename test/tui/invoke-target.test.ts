/** Which SageMaker endpoint and variant `mlp invoke` calls, from the daemon's view of a pipeline. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatStatus } from '../../tui/commands/status.js';
import { sageMakerTarget } from '../../tui/commands/sagemaker-target.js';
import { fullSnapshot, pipeline, variant } from './fixtures.js';

const onSageMaker = (endpoints: Record<string, string>, region: string | null = 'eu-west-1') => {
  const sagemaker = { region, endpoints };
  return {
    ...pipeline('demand', {
      backends: { training: 'docker', serving: 'sagemaker' },
      variants: [
        variant({ group: 'london', variant: 'v2', role: 'current' }),
        variant({ group: 'london', variant: 'v3', role: 'candidate' }),
      ],
    }),
    sagemaker,
  };
};

test('one group needs no --group; the region comes from the daemon (null: the AWS configuration)', () => {
  assert.deepEqual(sageMakerTarget(onSageMaker({ london: 'mlp-demand-london-1' }), {}), {
    group: 'london',
    endpoint: 'mlp-demand-london-1',
    region: 'eu-west-1',
  });
  assert.deepEqual(sageMakerTarget(onSageMaker({ london: 'mlp-demand-london-1' }, null), {}), {
    group: 'london',
    endpoint: 'mlp-demand-london-1',
  });
});

test('several groups need --group, and an unknown one is named with the known ones', () => {
  const two = onSageMaker({ london: 'e-london', paris: 'e-paris' });
  assert.throws(() => sageMakerTarget(two, {}), /pipeline 'demand' has 2 groups \(london, paris\): name one with --group/);
  assert.equal(sageMakerTarget(two, { group: 'paris' }).endpoint, 'e-paris');
  assert.throws(() => sageMakerTarget(two, { group: 'rome' }), /pipeline 'demand' has no group 'rome' \(groups: london, paris\)/);
});

test('--variant current / candidate is the variant in that role, as the router takes them', () => {
  const p = onSageMaker({ london: 'e-london' });
  assert.equal(sageMakerTarget(p, { variant: 'candidate' }).variant, 'v3');
  assert.equal(sageMakerTarget(p, { variant: 'current' }).variant, 'v2');
  assert.equal(sageMakerTarget(p, { variant: 'v7' }).variant, 'v7');
  assert.throws(
    () => sageMakerTarget({ ...p, variants: [] }, { variant: 'candidate' }),
    /group 'london' has no candidate variant right now/,
  );
});

test('mlp status <pipeline> says where it trains and serves, with the endpoints on SageMaker', () => {
  const out = formatStatus(fullSnapshot([onSageMaker({ london: 'mlp-demand-london-1' })]), { detail: true });
  assert.match(
    out,
    /^demand: steps run in Docker containers; models serve from SageMaker endpoints \(eu-west-1: london mlp-demand-london-1\)$/m,
  );
  assert.doesNotMatch(formatStatus(fullSnapshot([onSageMaker({ london: 'x' })])), /steps run/, 'the full list leaves it out');
});
