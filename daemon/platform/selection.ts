/**
 * Which serving platform runs a pipeline, from its `deployment.backend`: the one place that knows. The controller
 * and the gates get a single ServingPlatform that hands every call to the platform of the pipeline it names.
 */
import type { PipelineConfig } from '../../shared/config/schema.js';
import { MlpError } from '../../shared/errors.js';
import type { ServingPlatform } from './platform.js';

export type ServingBackend = PipelineConfig['pipeline']['deployment']['backend'];

export const SAGEMAKER_SERVING_UNAVAILABLE =
  'deployment.backend: sagemaker: serving from SageMaker endpoints is not available in this version of mlp; set deployment.backend to local or docker (steps still run on SageMaker with --cloud)';

/** Whether mlpd's own router serves a pipeline on this backend (its model servers are processes or containers here). */
export const servedLocally = (backend: ServingBackend): boolean => backend !== 'sagemaker';

export interface PlatformSelectionDeps {
  /** The pipeline's `deployment.backend`; undefined once it left the repo. */
  backendOf(pipeline: string): ServingBackend | undefined;
  /** Backends `local` and `docker`. */
  local: ServingPlatform;
}

export function selectPlatforms({ backendOf, local }: PlatformSelectionDeps): ServingPlatform {
  // SageMaker serving is not built: a candidate of a sagemaker pipeline is refused, so its rollout blocks at
  // deploying with what to change. What the pipeline had live before it moved to sagemaker is still on mlpd's
  // router, so everything else goes there.
  const sagemaker: ServingPlatform = { ...local, startCandidate: () => Promise.reject(new MlpError('unavailable', SAGEMAKER_SERVING_UNAVAILABLE)) };
  // A pipeline that left the repo can only have variants on the router.
  const of = (pipeline: string): ServingPlatform => {
    const backend = backendOf(pipeline);
    return backend === undefined || servedLocally(backend) ? local : sagemaker;
  };
  return {
    restore: () => local.restore(),
    startCandidate: (pipeline, group, version) => of(pipeline).startCandidate(pipeline, group, version),
    candidatesBack: (pipeline) => of(pipeline).candidatesBack(pipeline),
    candidatesDown: (pipeline) => of(pipeline).candidatesDown(pipeline),
    setCandidateWeight: (pipeline, weight) => of(pipeline).setCandidateWeight(pipeline, weight),
    promoteCandidates: (pipeline) => of(pipeline).promoteCandidates(pipeline),
    retireCandidates: (pipeline) => of(pipeline).retireCandidates(pipeline),
    holdCandidates: (pipeline) => of(pipeline).holdCandidates(pipeline),
    endpointOf: (pipeline, group, role) => of(pipeline).endpointOf(pipeline, group, role),
    capturedRequests: (pipeline, group, window) => of(pipeline).capturedRequests(pipeline, group, window),
    variantTraffic: (pipeline, group, variant) => of(pipeline).variantTraffic(pipeline, group, variant),
    close: () => local.close(),
  };
}
