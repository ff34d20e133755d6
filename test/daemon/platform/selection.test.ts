// Which platform a pipeline's calls go to: its backend, except that a live rollout stays where its candidate serves;
// the SageMaker platform is loaded only when a pipeline needs it; a group live on the router moves to SageMaker with
// its next rollout, and the reverse is refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { moveOf, selectPlatforms, type ServingBackend } from '../../../daemon/platform/selection.js';
import type { MlpError } from '../../../shared/errors.js';
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
    assert.deepEqual(t.local.asked, ['stop retired'], 'a promotion on SageMaker stops what the router no longer serves');
  });
});

describe('moving a live group between platforms', () => {
  it('is a move when the current version serves on the router and the candidate goes to SageMaker', () => {
    const live = [variant('s', 1, 'current', 'local')];
    assert.deepEqual(moveOf(live, 's', 'g', 'sagemaker'), { group: 'g', version: 1, from: 'local', to: 'sagemaker' });
    assert.deepEqual(moveOf([variant('s', 1, 'current', 'docker')], 's', 'g', 'sagemaker'), {
      group: 'g',
      version: 1,
      from: 'docker',
      to: 'sagemaker',
    });
  });

  it('is no move for a first version, within the router (local and docker), or within SageMaker', () => {
    assert.equal(moveOf([], 's', 'g', 'sagemaker'), null);
    assert.equal(moveOf([variant('s', 1, 'current', 'local')], 's', 'g', 'docker'), null);
    assert.equal(moveOf([variant('s', 1, 'current', 'sagemaker')], 's', 'g', 'sagemaker'), null);
  });

  it('refuses SageMaker → router, saying what to do instead', () => {
    assert.throws(
      () => moveOf([variant('s', 1, 'current', 'sagemaker')], 's', 'g', 'local'),
      (err: MlpError) =>
        err.code === 'check_failed' &&
        /v1 of s\/g serves on SageMaker: moving a live group from SageMaker .* set deployment.backend: sagemaker again/.test(err.message),
    );
  });

  it("starts the candidate on SageMaker while the current version, its capture and replay's calls to it stay on the router", async () => {
    const live = [variant('s', 1, 'current', 'local')];
    const t = setUp({ s: 'sagemaker' }, live);
    const captureAsked: string[] = [];
    // eslint-disable-next-line require-yield -- a platform that captured nothing: only which one was asked matters
    t.local.capturedRequests = async function* () {
      captureAsked.push('local');
    };
    // eslint-disable-next-line require-yield -- a platform that captured nothing: only which one was asked matters
    t.sagemaker.capturedRequests = async function* () {
      captureAsked.push('sagemaker');
    };
    t.local.endpointOf = (_p, _g, role) => (captureAsked.push(`local ${role}`), null);
    t.sagemaker.endpointOf = (_p, _g, role) => (captureAsked.push(`sagemaker ${role}`), null);

    await t.platform.startCandidate('s', 'g', 2);
    assert.deepEqual(t.sagemaker.asked, ['start g v2']);
    live.push(variant('s', 2, 'candidate', 'sagemaker'));
    for await (const _ of t.platform.capturedRequests('s', 'g', { sinceMs: 0, limit: 10 })) assert.fail('no requests');
    t.platform.endpointOf('s', 'g', 'current');
    t.platform.endpointOf('s', 'g', 'candidate');
    assert.deepEqual(captureAsked, ['local', 'local current', 'sagemaker candidate']);
    await t.platform.setCandidateWeight('s', 25);
    await t.platform.promoteCandidates('s');
    assert.deepEqual(t.sagemaker.asked, ['start g v2', 'weight 25', 'promote']);
    assert.deepEqual(t.local.asked, ['stop retired']);
  });

  it('refuses the candidate of a group live on SageMaker whose pipeline now says local, before any platform is asked', async () => {
    const t = setUp({ s: 'local' }, [variant('s', 1, 'current', 'sagemaker')]);
    await assert.rejects(
      t.platform.startCandidate('s', 'g', 2),
      /moving a live group from SageMaker to mlpd's router \(deployment.backend: local\) is not available/,
    );
    assert.deepEqual([...t.local.asked, ...t.sagemaker.asked], []);
  });
});
