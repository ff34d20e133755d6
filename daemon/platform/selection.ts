/**
 * Which serving platform runs a pipeline: the one place that knows. The controller and the gates get a single
 * ServingPlatform that hands every call to the platform of the pipeline it names: mlpd's own router for
 * backends `local` and `docker`, SageMaker endpoints for `sagemaker` (loaded the first time a pipeline needs
 * it, so a daemon without SageMaker pipelines never loads the AWS SDK or calls AWS).
 *
 * A live rollout stays on the platform it started on: the store's variants say where each one serves, and
 * they win over the pipeline's `deployment.backend`, which may have changed since.
 */
import type { PipelineConfig } from '../../shared/config/schema.js';
import type { Variant, VariantBackend } from '../store/variants.js';
import type { CaptureWindow, ServingPlatform } from './platform.js';

export type ServingBackend = PipelineConfig['pipeline']['deployment']['backend'];

/** Whether mlpd's own router serves a pipeline on this backend (its model servers are processes or containers here). */
export const servedLocally = (backend: ServingBackend | VariantBackend): boolean => backend !== 'sagemaker';

export interface PlatformSelectionDeps {
  /** The pipeline's `deployment.backend`; undefined once it left the repo. */
  backendOf(pipeline: string): ServingBackend | undefined;
  /** The variants the store says are live, of one pipeline or of all. */
  liveVariants(pipeline?: string): Variant[];
  /** Backends `local` and `docker`. */
  local: ServingPlatform;
  /** Backend `sagemaker`. */
  loadSageMaker(): Promise<ServingPlatform>;
}

export function selectPlatforms(deps: PlatformSelectionDeps): ServingPlatform {
  const { local } = deps;
  let sagemaker: ServingPlatform | null = null;
  let loading: Promise<ServingPlatform> | null = null;
  const loadSageMaker = () =>
    (loading ??= deps.loadSageMaker().then((p) => (sagemaker = p), (err: unknown) => {
      loading = null;
      throw err;
    }));

  /** Where a pipeline's candidates serve: where its live candidates are, else where its config says. */
  const backendOf = (pipeline: string): ServingBackend | VariantBackend => {
    const candidate = deps.liveVariants(pipeline).find((v) => v.role === 'candidate');
    return candidate?.backend ?? deps.backendOf(pipeline) ?? 'local';
  };
  /** Where one of a group's variants serves (the role's or the version's), else where the pipeline's candidates do. */
  const backendOfVariant = (pipeline: string, pick: (v: Variant) => boolean) => deps.liveVariants(pipeline).find(pick)?.backend ?? backendOf(pipeline);

  const now = (backend: ServingBackend | VariantBackend): ServingPlatform | null => (servedLocally(backend) ? local : sagemaker);
  const later = async (backend: ServingBackend | VariantBackend): Promise<ServingPlatform> => (servedLocally(backend) ? local : loadSageMaker());

  async function* captured(pipeline: string, group: string, window: CaptureWindow) {
    const platform = await later(backendOfVariant(pipeline, (v) => v.group === group && v.role === 'current'));
    yield* platform.capturedRequests(pipeline, group, window);
  }

  return {
    async restore() {
      await local.restore();
      if (deps.liveVariants().some((v) => v.backend === 'sagemaker')) await (await loadSageMaker()).restore();
    },
    startCandidate: async (pipeline, group, version) => (await later(backendOf(pipeline))).startCandidate(pipeline, group, version),
    candidatesBack: async (pipeline) => (await later(backendOf(pipeline))).candidatesBack(pipeline),
    candidatesDown: (pipeline) => now(backendOf(pipeline))?.candidatesDown(pipeline) ?? null,
    setCandidateWeight: async (pipeline, weight) => (await later(backendOf(pipeline))).setCandidateWeight(pipeline, weight),
    promoteCandidates: async (pipeline) => (await later(backendOf(pipeline))).promoteCandidates(pipeline),
    retireCandidates: async (pipeline) => (await later(backendOf(pipeline))).retireCandidates(pipeline),
    holdCandidates: (pipeline) => now(backendOf(pipeline))?.holdCandidates(pipeline),
    endpointOf: (pipeline, group, role) => now(backendOfVariant(pipeline, (v) => v.group === group && v.role === role))?.endpointOf(pipeline, group, role) ?? null,
    capturedRequests: captured,
    variantTraffic: (pipeline, group, variant) =>
      now(backendOfVariant(pipeline, (v) => v.group === group && `v${v.version}` === variant))?.variantTraffic(pipeline, group, variant) ?? null,
    async close() {
      await Promise.all([local.close(), sagemaker?.close()]);
    },
  };
}
