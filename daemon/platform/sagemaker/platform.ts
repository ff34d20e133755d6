/**
 * The serving platform of the `sagemaker` backend (docs/serving.md, "SageMaker endpoints"): one endpoint per
 * pipeline and group, each model version a production variant on it, weights moved with
 * UpdateEndpointWeightsAndCapacities, Data Capture in S3, and CloudWatch's per-variant counts for the watch.
 *
 * The store's variants (backend 'sagemaker') are the desired state, changed only once SageMaker says the endpoint
 * serves it, so after a crash the same effect reads DescribeEndpoint and finishes what was under way. Any failure
 * of AWS itself (a refused call, an endpoint stuck in transition) is a PlatformFailure: the rollout fails with it,
 * and the endpoint keeps serving the current version.
 */
import { describeError, MlpError } from '../../../shared/errors.js';
import { createAwsClients, type AwsClients } from '../../aws/clients.js';
import { ensureBucket } from '../../aws/s3.js';
import type { Logger } from '../../log.js';
import type { InForcePipeline } from '../../repo/reconcile.js';
import { artifactDir } from '../../runs/artifacts.js';
import type { Store } from '../../store/db.js';
import type { Variant, VariantRole } from '../../store/variants.js';
import { PlatformFailure, type ServingPlatform, type VariantEndpoint } from '../platform.js';
import { readS3Capture } from './capture.js';
import { createEndpoints, type ConfigPlan, type VariantPlan } from './endpoints.js';
import { variantConnector } from './invoke.js';
import { createCloudWatchTraffic } from './metrics.js';
import { modelDataUrl } from './model-data.js';
import { endpointConfigName, endpointName, isConfigOf, modelName, variantName } from './naming.js';
import { servingContainer } from './serving-container.js';

/** mlp.yaml's `aws:` section. */
export interface AwsSettings {
  region?: string | undefined;
  bucket: string;
  roleArn: string;
}

export interface SageMakerPlatformDeps {
  store: Store;
  log: Logger;
  dataDir: string;
  pipeline(name: string): InForcePipeline | undefined;
  /** mlp.yaml's aws section; null when there is none. */
  aws(): AwsSettings | null;
  /** The daemon's --time-scale: endpoint time limits and the metrics' polling follow it. */
  timeScale: number;
  /** Called after a variant changed (status republishes the pipeline). */
  onVariantChanged?(pipeline: string): void;
  /** Where AWS_REGION and AWS_ENDPOINT_URL* are read (the daemon's environment). */
  env?: NodeJS.ProcessEnv;
}

/** How long an endpoint may stay Creating or Updating (SageMaker takes minutes; this is generous). */
const TRANSITION_LIMIT_MS = 60 * 60_000;
/** How often a transition is checked, and how often CloudWatch is read (before --time-scale). */
const POLL_MS = 15_000;

export function createSageMakerPlatform(deps: SageMakerPlatformDeps): ServingPlatform {
  const { store, log } = deps;
  const env = deps.env ?? process.env;
  const scaled = (ms: number, floor: number) => Math.max(floor, Math.round(ms / deps.timeScale));
  const clients = new Map<string, AwsClients>();
  const say = (pipeline: string, line: string) => log.info('sagemaker', line, pipeline);

  const settings = (pipeline: string): AwsSettings => {
    const aws = deps.aws();
    if (!aws) {
      throw new PlatformFailure(
        `${pipeline}: deployment.backend: sagemaker needs an aws section (region, role_arn, bucket) in mlp.yaml at the repo root`,
      );
    }
    return aws;
  };
  const awsOf = (s: AwsSettings): AwsClients => {
    const key = s.region ?? '';
    let c = clients.get(key);
    if (!c) {
      c = createAwsClients({ ...(s.region ? { region: s.region } : {}), env });
      clients.set(key, c);
    }
    return c;
  };
  // One set of endpoint operations per region, so the per-endpoint queue is shared by every caller.
  const endpointsByRegion = new Map<string, ReturnType<typeof createEndpoints>>();
  const endpointsOf = (s: AwsSettings) => {
    const key = s.region ?? '';
    let e = endpointsByRegion.get(key);
    if (!e) {
      e = createEndpoints({ aws: awsOf(s), say, transitionLimitMs: scaled(TRANSITION_LIMIT_MS, 30_000), pollMs: scaled(POLL_MS, 250) });
      endpointsByRegion.set(key, e);
    }
    return e;
  };
  const traffic = createCloudWatchTraffic({
    aws: createAwsClients({ ...(deps.aws()?.region ? { region: deps.aws()!.region! } : {}), env }),
    everyMs: scaled(POLL_MS, 1_000),
    onError: (message) => log.warn('sagemaker', `cannot read CloudWatch metrics: ${message}`),
  });
  const trafficKey = (pipeline: string, group: string, variant: string) => `${pipeline}\0${group}\0${variant}`;
  /** Why an endpoint cannot serve its candidate, as last seen (restore, an operation); absent = fine. */
  const downs = new Map<string, string>();
  const restoring = new Map<string, Promise<void>>();

  const config = (pipeline: string): InForcePipeline => {
    const p = deps.pipeline(pipeline);
    if (!p) throw new MlpError('not_found', `pipeline '${pipeline}' is not in force`);
    return p;
  };
  const ours = (pipeline: string) => store.variants.live(pipeline).filter((v) => v.backend === 'sagemaker');
  const groupsWithCandidates = (pipeline: string) => [
    ...new Set(
      ours(pipeline)
        .filter((v) => v.role === 'candidate')
        .map((v) => v.group),
    ),
  ];
  const roleOf = (pipeline: string, group: string, role: VariantRole) => ours(pipeline).find((v) => v.group === group && v.role === role);
  /**
   * The group's current version as its endpoint carries it beside the candidate: the SageMaker variant, or, while
   * the group moves here from mlpd's router (docs/serving.md, "Moving a live group"), the version still live there,
   * which the endpoint serves as a copy until the move ends. Its store row is the router's: its weight there stays.
   */
  const currentOf = (pipeline: string, group: string) =>
    store.variants.live(pipeline).find((v) => v.group === group && v.role === 'current');
  const moving = (v: Variant | undefined) => v !== undefined && v.backend !== 'sagemaker';

  /** Runs an operation; anything but the model's own failure (check_failed) or a config error is a PlatformFailure. */
  const platformCall = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (err instanceof PlatformFailure || (err instanceof MlpError && (err.code === 'check_failed' || err.code === 'invalid_config')))
        throw err;
      throw new PlatformFailure(describeError(err), {
        cause: err,
        ...(err instanceof MlpError && err.details ? { details: err.details } : {}),
      });
    }
  };

  /** Model data and Data Capture go to the bucket: made once if it does not exist, as for cloud runs. */
  const buckets = new Map<string, Promise<void>>();
  const bucketReady = (s: AwsSettings) => {
    let ready = buckets.get(s.bucket);
    if (!ready) {
      ready = ensureBucket(awsOf(s), s.bucket).then(
        (created) => void (created && log.info('sagemaker', `created the S3 bucket ${s.bucket}`)),
        (err) => {
          buckets.delete(s.bucket);
          throw err;
        },
      );
      buckets.set(s.bucket, ready);
    }
    return ready;
  };

  const ensureModel = async (p: InForcePipeline, s: AwsSettings, group: string, version: number) => {
    const mv = store.modelVersions.get(p.name, group, version);
    if (!mv) throw new MlpError('not_found', `${p.name}/${group} has no model version v${version}`);
    const name = modelName(p.name, group, version);
    await endpointsOf(s).ensureModel(
      name,
      servingContainer(p.config, group, version),
      () => modelDataUrl({ aws: awsOf(s), bucket: s.bucket }, p.name, mv.artifactUri, artifactDir(deps.dataDir, p.name, group, version)),
      s.roleArn,
    );
    return name;
  };

  /** The endpoint configuration serving `variants`, created if needed. */
  const configFor = async (
    p: InForcePipeline,
    s: AwsSettings,
    group: string,
    variants: { version: number; weight: number }[],
  ): Promise<string> => {
    const plans: VariantPlan[] = variants.map((v) => ({
      variant: variantName(v.version),
      model: modelName(p.name, group, v.version),
      weight: v.weight,
    }));
    const content = {
      variants: plans,
      instanceType: p.config.pipeline.serve.instance_type,
      capture: {
        destination: `s3://${s.bucket}/mlp/${p.name}/capture`,
        samplingPercent: p.config.pipeline.deployment.capture.sampling_percent,
      },
    };
    const plan: ConfigPlan = { name: endpointConfigName(p.name, group, JSON.stringify(content)), ...content };
    await endpointsOf(s).ensureConfig(plan);
    return plan.name;
  };

  /**
   * Deletes what no longer serves: the group's other endpoint configurations and the given versions' models. The
   * endpoint already serves what the rollout wanted, so a refused deletion is only reported (and tried again by the
   * next promotion or retirement of the group).
   */
  const cleanUp = async (pipeline: string, s: AwsSettings, group: string, models: number[]) => {
    try {
      const e = endpointsOf(s);
      const live = (await e.describe(endpointName(pipeline, group)))?.configName;
      const deleted = await e.deleteConfigs((name) => isConfigOf(pipeline, group, name), live);
      for (const version of models) await e.deleteModel(modelName(pipeline, group, version));
      if (deleted.length || models.length)
        say(pipeline, `deleted ${[...deleted, ...models.map((v) => modelName(pipeline, group, v))].join(', ')}`);
    } catch (err) {
      log.warn('sagemaker', `could not delete what ${endpointName(pipeline, group)} no longer serves: ${describeError(err)}`, pipeline);
    }
  };

  const observe = (v: Variant, state: Variant['state'], lastError: string | null) => {
    store.variants.observe(v.id, { state, port: null, handle: `endpoint:${endpointName(v.pipeline, v.group)}`, restarts: 0, lastError });
    deps.onVariantChanged?.(v.pipeline);
  };

  const weightsOf = (group: { current: Variant | undefined; candidate: Variant }, weight: number): Record<string, number> => ({
    [variantName(group.candidate.version)]: weight,
    ...(group.current ? { [variantName(group.current.version)]: 100 - weight } : {}),
  });

  const restoreGroup = async (pipeline: string, group: string) => {
    const s = settings(pipeline);
    const endpoint = endpointName(pipeline, group);
    const state = await endpointsOf(s).settled(pipeline, endpoint);
    const candidate = roleOf(pipeline, group, 'candidate');
    if (!state) downs.set(endpoint, `endpoint ${endpoint} does not exist`);
    else if (state.status !== 'InService')
      downs.set(endpoint, `endpoint ${endpoint} is ${state.status}${state.failureReason ? `: ${state.failureReason}` : ''}`);
    else if (candidate && !state.weights.has(variantName(candidate.version)))
      downs.set(endpoint, `endpoint ${endpoint} does not serve ${variantName(candidate.version)}`);
    else downs.delete(endpoint);
    for (const v of ours(pipeline).filter((x) => x.group === group)) {
      if (v.role === 'current')
        traffic.watch(trafficKey(pipeline, group, variantName(v.version)), endpoint, variantName(v.version), Date.now());
    }
    if (candidate && state?.weights.has(variantName(candidate.version)) && candidate.weight > 0) {
      traffic.watch(trafficKey(pipeline, group, variantName(candidate.version)), endpoint, variantName(candidate.version), Date.now());
    }
  };

  return {
    async restore() {
      const pipelines = [
        ...new Set(
          store.variants
            .live()
            .filter((v) => v.backend === 'sagemaker')
            .map((v) => v.pipeline),
        ),
      ];
      for (const pipeline of pipelines) {
        const groups = [...new Set(ours(pipeline).map((v) => v.group))];
        const done = Promise.all(groups.map((g) => restoreGroup(pipeline, g))).then(
          () => undefined,
          (err) => log.error('sagemaker', `cannot check the endpoints: ${describeError(err)}`, pipeline),
        );
        restoring.set(pipeline, done);
      }
    },

    startCandidate: (pipeline, group, version) =>
      platformCall(async () => {
        const p = config(pipeline);
        const s = settings(pipeline);
        servingContainer(p.config, group, version); // a missing image is said before anything is created
        const live = store.variants.live(pipeline).filter((v) => v.group === group);
        if (live.find((v) => v.version === version)?.role === 'current') return null;
        const current = live.find((v) => v.role === 'current');
        for (const old of live.filter((v) => v.role === 'candidate' && v.version !== version)) store.variants.retire(old.id);
        const candidate =
          live.find((v) => v.version === version) ??
          store.variants.create({ pipeline, group, version, role: 'candidate', weight: 0, backend: 'sagemaker' });
        deps.onVariantChanged?.(pipeline);
        const endpoint = endpointName(pipeline, group);
        try {
          await bucketReady(s);
          if (current) await ensureModel(p, s, group, current.version);
          await ensureModel(p, s, group, version);
          // A first version has the endpoint to itself (SageMaker needs a weight above 0); later ones join at 0.
          const variants = current
            ? [
                { version: current.version, weight: 1 },
                { version, weight: 0 },
              ]
            : [{ version, weight: 1 }];
          const name = await configFor(p, s, group, variants);
          await endpointsOf(s).converge(pipeline, endpoint, name);
        } catch (err) {
          observe(candidate, 'failed', describeError(err));
          throw err;
        }
        downs.delete(endpoint);
        observe(candidate, 'live', null);
        if (!moving(current)) return null;
        say(
          pipeline,
          `${group}: v${current!.version} (live on the ${current!.backend} backend) is up on endpoint ${endpoint} beside v${version}`,
        );
        return `moving ${group} from ${current!.backend} to sagemaker: v${current!.version} brought up on endpoint ${endpoint}`;
      }),

    async candidatesBack(pipeline) {
      await restoring.get(pipeline);
      for (const group of groupsWithCandidates(pipeline)) {
        const down = downs.get(endpointName(pipeline, group));
        if (down) throw new PlatformFailure(down);
      }
    },

    candidatesDown(pipeline) {
      for (const group of groupsWithCandidates(pipeline)) {
        const down = downs.get(endpointName(pipeline, group));
        if (down) return down;
      }
      return null;
    },

    setCandidateWeight: (pipeline, weight) =>
      platformCall(async () => {
        const s = settings(pipeline);
        for (const group of groupsWithCandidates(pipeline)) {
          const candidate = roleOf(pipeline, group, 'candidate')!;
          const current = currentOf(pipeline, group);
          const endpoint = endpointName(pipeline, group);
          if (current) await endpointsOf(s).setWeights(pipeline, endpoint, weightsOf({ current, candidate }, weight));
          store.transaction(() => {
            store.variants.setWeight(candidate.id, weight);
            if (current && !moving(current)) store.variants.setWeight(current.id, 100 - weight);
          });
          // The candidate's live traffic counts from its first weight above 0: what came before was the gates'.
          if (weight > 0)
            traffic.watch(
              trafficKey(pipeline, group, variantName(candidate.version)),
              endpoint,
              variantName(candidate.version),
              Date.now(),
            );
        }
        deps.onVariantChanged?.(pipeline);
      }),

    promoteCandidates: (pipeline) =>
      platformCall(async () => {
        const p = config(pipeline);
        const s = settings(pipeline);
        for (const group of groupsWithCandidates(pipeline)) {
          const candidate = roleOf(pipeline, group, 'candidate')!;
          // A group moving here retires its version on the router too: the selection stops that server.
          const current = currentOf(pipeline, group);
          const endpoint = endpointName(pipeline, group);
          await ensureModel(p, s, group, candidate.version);
          await endpointsOf(s).converge(pipeline, endpoint, await configFor(p, s, group, [{ version: candidate.version, weight: 1 }]));
          store.transaction(() => {
            if (current) store.variants.retire(current.id);
            store.variants.setRole(candidate.id, 'current');
            store.variants.setWeight(candidate.id, 100);
          });
          if (current) traffic.unwatch(trafficKey(pipeline, group, variantName(current.version)));
          traffic.watch(trafficKey(pipeline, group, variantName(candidate.version)), endpoint, variantName(candidate.version), Date.now());
          deps.onVariantChanged?.(pipeline);
          await cleanUp(pipeline, s, group, current ? [current.version] : []);
        }
      }),

    retireCandidates: (pipeline) =>
      platformCall(async () => {
        const p = config(pipeline);
        const s = settings(pipeline);
        for (const group of groupsWithCandidates(pipeline)) {
          const candidate = roleOf(pipeline, group, 'candidate')!;
          const current = currentOf(pipeline, group);
          const endpoint = endpointName(pipeline, group);
          const e = endpointsOf(s);
          // A move that did not happen leaves nothing on SageMaker: the endpoint was made for it, and the group
          // serves on the router as before.
          if (current && !moving(current)) {
            const state = await e.settled(pipeline, endpoint);
            // Traffic leaves the candidate first (one quick call), then the candidate leaves the endpoint.
            if (
              state?.status === 'InService' &&
              state.weights.has(variantName(candidate.version)) &&
              state.weights.has(variantName(current.version))
            ) {
              await e.setWeights(pipeline, endpoint, weightsOf({ current, candidate }, 0));
            }
            await ensureModel(p, s, group, current.version);
            await e.converge(pipeline, endpoint, await configFor(p, s, group, [{ version: current.version, weight: 1 }]));
          } else {
            await e.remove(pipeline, endpoint);
          }
          store.transaction(() => {
            store.variants.retire(candidate.id);
            if (current) store.variants.setWeight(current.id, 100);
          });
          traffic.unwatch(trafficKey(pipeline, group, variantName(candidate.version)));
          if (moving(current)) traffic.unwatch(trafficKey(pipeline, group, variantName(current!.version)));
          downs.delete(endpoint);
          deps.onVariantChanged?.(pipeline);
          await cleanUp(pipeline, s, group, moving(current) ? [candidate.version, current!.version] : [candidate.version]);
        }
      }),

    holdCandidates(pipeline) {
      // No write to the store: the weights go to 0 on the endpoint only, until the rollback is recorded.
      const s = deps.aws();
      if (!s) return;
      for (const group of groupsWithCandidates(pipeline)) {
        const candidate = roleOf(pipeline, group, 'candidate')!;
        const current = currentOf(pipeline, group);
        if (!current) continue;
        // Not awaited: taking traffic off one endpoint must not wait for (or fail) the others; a failure is logged.
        void endpointsOf(s)
          .setWeights(pipeline, endpointName(pipeline, group), weightsOf({ current, candidate }, 0))
          .catch((err) =>
            log.error('sagemaker', `cannot take the traffic off ${variantName(candidate.version)}: ${describeError(err)}`, pipeline),
          );
      }
    },

    endpointOf(pipeline, group, role): VariantEndpoint | null {
      const v = roleOf(pipeline, group, role);
      const s = deps.aws();
      if (!v || v.state !== 'live' || !s) return null;
      const endpoint = endpointName(pipeline, group);
      const variant = variantName(v.version);
      const region = s.region ?? awsOf(s).region;
      const reach = Object.fromEntries(
        Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('AWS_ENDPOINT_URL') && typeof e[1] === 'string'),
      );
      return {
        variant,
        env: { MLP_ENDPOINT_NAME: endpoint, MLP_VARIANT: variant, ...(region ? { AWS_REGION: region } : {}), ...reach },
        ...variantConnector({ region, endpoint, variant }),
      };
    },

    capturedRequests(pipeline, group, window) {
      const s = settings(pipeline);
      return readS3Capture(
        awsOf(s),
        { bucket: s.bucket, prefix: `mlp/${pipeline}/capture/${endpointName(pipeline, group)}/` },
        window.sinceMs,
        window.limit,
      );
    },

    variantTraffic: (pipeline, group, variant) => traffic.traffic(trafficKey(pipeline, group, variant)),

    // The endpoints keep serving; an operation still waiting on one is picked up again by the next daemon.
    async close() {
      traffic.close();
    },
  };
}
