// Which platform a pipeline's calls go to: its backend, except that a live rollout stays where its candidate serves;
// the SageMaker platform is loaded only when a pipeline needs it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectPlatforms, type ServingBackend } from '../../../daemon/platform/selection.js';
import type { Variant, VariantBackend } from '../../../daemon/store/variants.js';
import { createFakePlatform } from '../rollout/fake-platform.js';

const variant = (pipeline: string, version: number, role: Variant['role'], backend: VariantBackend): Variant => ({
  id: version,
  pipeline,
  group: 'g',
  version,
  role,
  weight: role === 'current' ? 100 : 0,
  backend,
  desired: 'live',
  state: 'live',
  port: null,
  handle: null,
  restarts: 0,
  lastError: null,
  createdAt: 0,
  updatedAt: 0,
});

function setUp(backends: Record<string, ServingBackend>, live: Variant[] = []) {
  const local = createFakePlatform();
  const sagemaker = createFakePlatform();
  let loads = 0;
  const platform = selectPlatforms({
    backendOf: (p) => backends[p],
    liveVariants: (p) => live.filter((v) => p === undefined || v.pipeline === p),
    local,
    loadSageMaker: async () => (loads++, sagemaker),
  });
  return { platform, local, sagemaker, loads: () => loads };
}

describe('platform selection', () => {
  it('never loads the SageMaker platform for local and docker pipelines', async () => {
    const t = setUp({ a: 'local', b: 'docker' });
    await t.platform.restore();
    await t.platform.startCandidate('a', 'g', 1);
    await t.platform.startCandidate('b', 'g', 1);
    assert.equal(t.loads(), 0);
    assert.deepEqual(t.local.asked, ['start g v1', 'start g v1']);
  });

  it('sends a sagemaker pipeline to SageMaker, loaded once, and restores it at start when variants serve there', async () => {
    const t = setUp({ s: 'sagemaker' }, [variant('s', 1, 'current', 'sagemaker')]);
    await t.platform.restore();
    assert.equal(t.loads(), 1);
    await t.platform.startCandidate('s', 'g', 2);
    await t.platform.setCandidateWeight('s', 10);
    assert.equal(t.loads(), 1);
    assert.deepEqual(t.sagemaker.asked, ['start g v2', 'weight 10']);
    assert.deepEqual(t.local.asked, []);
  });

  it('keeps a live rollout on the platform its candidate serves on when the pipeline changes backend', async () => {
    const backends: Record<string, ServingBackend> = { s: 'sagemaker' };
    const t = setUp(backends, [variant('s', 1, 'current', 'sagemaker'), variant('s', 2, 'candidate', 'sagemaker')]);
    backends.s = 'local';
    await t.platform.promoteCandidates('s');
    assert.deepEqual(t.sagemaker.asked, ['promote']);
    assert.deepEqual(t.local.asked, []);
  });
});
