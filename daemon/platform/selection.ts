/**
 * Which serving platform runs a pipeline: the one place that knows. The controller and the gates get a single
 * ServingPlatform that hands every call to the platform of the pipeline it names: mlpd's own router for
 * backends `local` and `docker`, SageMaker endpoints for `sagemaker` (loaded the first time a pipeline needs
 * it, so a daemon without SageMaker pipelines never loads the AWS SDK or calls AWS).
 *
 * A live rollout stays on the platform it started on: the store's variants say where each one serves, and
 * they win over the pipeline's `deployment.backend`, which may have changed since.
 *
 * A group whose current version serves on the router while its pipeline now says `sagemaker` moves with its next
 * rollout (docs/serving.md, "Moving a live group"): the candidate starts on SageMaker, whose platform brings the
 * current version up on the endpoint beside it; the router keeps serving the current version to its own clients
 * until the promotion, which stops it there. Until then everything about the current version (its captured
 * traffic, replay's calls to it) stays where it served.
 */
import type { PipelineConfig } from '../../shared/config/schema.js';
import { MlpError } from '../../shared/errors.js';
import type { Variant, VariantBackend } from '../store/variants.js';
import type { CaptureWindow, ServingPlatform } from './platform.js';

export type ServingBackend = PipelineConfig['pipeline']['deployment']['backend'];

/** Whether mlpd's own router serves a pipeline on this backend (its model servers are processes or containers here). */
export const servedLocally = (backend: ServingBackend | VariantBackend): boolean => backend !== 'sagemaker';

/** mlpd's router as a platform, which can also stop what a group that moved away no longer serves. */
export interface RouterPlatform extends ServingPlatform {
  /** Stops the servers of the pipeline's variants the store no longer holds live (retired by another platform). */
  stopRetired(pipeline: string): Promise<void>;
}

/** A group whose candidate serves on another platform than its current version: the rollout moves it. */
export interface Move {
  group: string;
  /** The current version, which the candidate's platform brings up beside the candidate. */
  version: number;
  from: VariantBackend;
  to: ServingBackend | VariantBackend;
}

/**
 * Whether starting a candidate of `group` on `to` moves the group: its current version serves on the other
 * platform (local and docker are both the router's, so going between them is an ordinary rollout). Moving from
 * SageMaker back to the router is refused, saying what to do instead: the router's servers have no way to run
 * a copy of a version whose model lives on an endpoint beside a candidate, so a rollout there would leave the
 * endpoint serving on its own.
 */
export function moveOf(live: readonly Variant[], pipeline: string, group: string, to: ServingBackend | VariantBackend): Move | null {
  const current = live.find((v) => v.group === group && v.role === 'current');
  if (!current || servedLocally(current.backend) === servedLocally(to)) return null;
  if (!servedLocally(current.backend)) {
    throw new MlpError(
      'check_failed',
      `v${current.version} of ${pipeline}/${group} serves on SageMaker: moving a live group from SageMaker to mlpd's router (deployment.backend: ${to}) is not available; set deployment.backend: sagemaker again, or serve the pipeline under a new name on ${to}`,
    );
  }
  return { group, version: current.version, from: current.backend, to };
}

export interface PlatformSelectionDeps {
  /** The pipeline's `deployment.backend`; undefined once it left the repo. */
  backendOf(pipeline: string): ServingBackend | undefined;
  /** The variants the store says are live, of one pipeline or of all. */
  liveVariants(pipeline?: string): Variant[];
  /** Backends `local` and `docker`. */
  local: RouterPlatform;
  /** Backend `sagemaker`. */
  loadSageMaker(): Promise<ServingPlatform>;
}

export function selectPlatforms(deps: PlatformSelectionDeps): ServingPlatform {
  const { local } = deps;
  let sagemaker: ServingPlatform | null = null;
  let loading: Promise<ServingPlatform> | null = null;
  const loadSageMaker = () =>
    (loading ??= deps.loadSageMaker().then(
      (p) => (sagemaker = p),
      (err: unknown) => {
        loading = null;
        throw err;
      },
    ));

  /** Where a pipeline's candidates serve: where its live candidates are, else where its config says. */
  const backendOf = (pipeline: string): ServingBackend | VariantBackend => {
    const candidate = deps.liveVariants(pipeline).find((v) => v.role === 'candidate');
    return candidate?.backend ?? deps.backendOf(pipeline) ?? 'local';
  };
  /** Where one of a group's variants serves (the role's or the version's), else where the pipeline's candidates do. */
  const backendOfVariant = (pipeline: string, pick: (v: Variant) => boolean) =>
    deps.liveVariants(pipeline).find(pick)?.backend ?? backendOf(pipeline);

  const now = (backend: ServingBackend | VariantBackend): ServingPlatform | null => (servedLocally(backend) ? local : sagemaker);
  const later = async (backend: ServingBackend | VariantBackend): Promise<ServingPlatform> =>
    servedLocally(backend) ? local : loadSageMaker();

  async function* captured(pipeline: string, group: string, window: CaptureWindow) {
    const platform = await later(backendOfVariant(pipeline, (v) => v.group === group && v.role === 'current'));
    yield* platform.capturedRequests(pipeline, group, window);
  }

  return {
    async restore() {
      await local.restore();
      if (deps.liveVariants().some((v) => v.backend === 'sagemaker')) await (await loadSageMaker()).restore();
    },
    async startCandidate(pipeline, group, version) {
      const to = backendOf(pipeline);
      moveOf(deps.liveVariants(pipeline), pipeline, group, to);
      return (await later(to)).startCandidate(pipeline, group, version);
    },
    candidatesBack: async (pipeline) => (await later(backendOf(pipeline))).candidatesBack(pipeline),
    candidatesDown: (pipeline) => now(backendOf(pipeline))?.candidatesDown(pipeline) ?? null,
    setCandidateWeight: async (pipeline, weight) => (await later(backendOf(pipeline))).setCandidateWeight(pipeline, weight),
    async promoteCandidates(pipeline) {
      const to = backendOf(pipeline);
      await (await later(to)).promoteCandidates(pipeline);
      // A group that moved to SageMaker retired its version on the router: its server stops (idempotent).
      if (!servedLocally(to)) await local.stopRetired(pipeline);
    },
    retireCandidates: async (pipeline) => (await later(backendOf(pipeline))).retireCandidates(pipeline),
    holdCandidates: (pipeline) => now(backendOf(pipeline))?.holdCandidates(pipeline),
    endpointOf: (pipeline, group, role) =>
      now(backendOfVariant(pipeline, (v) => v.group === group && v.role === role))?.endpointOf(pipeline, group, role) ?? null,
    capturedRequests: captured,
    variantTraffic: (pipeline, group, variant) =>
      now(backendOfVariant(pipeline, (v) => v.group === group && `v${v.version}` === variant))?.variantTraffic(pipeline, group, variant) ??
      null,
    async close() {
      await Promise.all([local.close(), sagemaker?.close()]);
    },
  };
}
