/**
 * One group's SageMaker endpoint, driven to a wanted endpoint configuration: the calls, the waits for
 * InService, and nothing about rollouts. Every operation is idempotent and reads DescribeEndpoint first, so
 * after a daemon killed mid-update the same call finishes the job: an endpoint still Updating is waited for, a
 * wanted configuration already live is done. Operations on one endpoint run one at a time (SageMaker refuses
 * an update while another is under way).
 */
import {
  CreateEndpointCommand,
  CreateEndpointConfigCommand,
  CreateModelCommand,
  DeleteEndpointCommand,
  DeleteEndpointConfigCommand,
  DeleteModelCommand,
  DescribeEndpointCommand,
  DescribeModelCommand,
  ListEndpointConfigsCommand,
  UpdateEndpointCommand,
  UpdateEndpointWeightsAndCapacitiesCommand,
  type ProductionVariant,
} from '@aws-sdk/client-sagemaker';
import { setTimeout as sleep } from 'node:timers/promises';
import { MlpError } from '../../../shared/errors.js';
import type { AwsClients } from '../../aws/clients.js';
import { awsCall } from '../../aws/errors.js';
import { PlatformFailure } from '../platform.js';
import type { ServingContainer } from './serving-container.js';

/** What DescribeEndpoint says, with a missing weight read as 0 (SageMaker omits a zero weight). */
export interface EndpointState {
  status: string;
  configName: string | undefined;
  /** Variant name → current weight. */
  weights: Map<string, number>;
  failureReason: string | undefined;
}

export interface VariantPlan {
  variant: string;
  model: string;
  /** The variant's InitialVariantWeight: only the ratio between variants matters. */
  weight: number;
}

export interface ConfigPlan {
  name: string;
  variants: VariantPlan[];
  instanceType: string;
  capture: { destination: string; samplingPercent: number };
}

export interface EndpointsDeps {
  aws: AwsClients;
  /** A line for the pipeline's log: progress of a transition, what was created or deleted. */
  say(pipeline: string, line: string): void;
  /** How long an endpoint may stay Creating or Updating before it counts as stuck. */
  transitionLimitMs: number;
  /** How often DescribeEndpoint is asked during a transition. */
  pollMs: number;
}

const TRANSITIONS = new Set(['Creating', 'Updating', 'SystemUpdating', 'RollingBack', 'Deleting', 'UpdateRollbackFailed']);

export function createEndpoints(deps: EndpointsDeps) {
  const { aws } = deps;
  const queues = new Map<string, Promise<unknown>>();
  const sm = <T>(call: string, send: () => Promise<T>) => awsCall(aws, 'sagemaker', call, send);

  /** Runs `work` after every earlier operation on `endpoint`. */
  const exclusive = <T>(endpoint: string, work: () => Promise<T>): Promise<T> => {
    const next = (queues.get(endpoint) ?? Promise.resolve()).then(work, work);
    queues.set(
      endpoint,
      next.catch(() => undefined),
    );
    return next;
  };

  async function describe(endpoint: string): Promise<EndpointState | null> {
    const d = await sm('DescribeEndpoint', async () => {
      try {
        return await aws.sagemaker.send(new DescribeEndpointCommand({ EndpointName: endpoint }));
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
    });
    if (!d) return null;
    return {
      status: d.EndpointStatus ?? 'Unknown',
      configName: d.EndpointConfigName,
      weights: new Map((d.ProductionVariants ?? []).map((v) => [v.VariantName ?? '', v.CurrentWeight ?? 0])),
      failureReason: d.FailureReason,
    };
  }

  /** Waits while the endpoint is in transition, logging each status change; a stuck one is a PlatformFailure. */
  async function settled(pipeline: string, endpoint: string): Promise<EndpointState | null> {
    const deadline = Date.now() + deps.transitionLimitMs;
    let last: string | undefined;
    for (;;) {
      const state = await describe(endpoint);
      if (!state || !TRANSITIONS.has(state.status)) return state;
      if (state.status !== last) deps.say(pipeline, `endpoint ${endpoint} is ${state.status}`);
      last = state.status;
      if (Date.now() > deadline) {
        throw new PlatformFailure(
          `endpoint ${endpoint} is still ${state.status} after ${Math.round(deps.transitionLimitMs / 1000)} s; it keeps serving what it served before`,
        );
      }
      await sleep(deps.pollMs);
    }
  }

  async function ensureModel(
    name: string,
    container: ServingContainer,
    modelDataUrl: () => Promise<string>,
    roleArn: string,
  ): Promise<void> {
    const found = await sm('DescribeModel', async () => {
      try {
        return await aws.sagemaker.send(new DescribeModelCommand({ ModelName: name }));
      } catch (err) {
        if (isMissing(err)) return null;
        throw err;
      }
    });
    if (found) return;
    const url = await modelDataUrl();
    await sm('CreateModel', () =>
      aws.sagemaker.send(
        new CreateModelCommand({ ModelName: name, ExecutionRoleArn: roleArn, PrimaryContainer: { ...container, ModelDataUrl: url } }),
      ),
    );
  }

  async function ensureConfig(plan: ConfigPlan): Promise<void> {
    const variants: ProductionVariant[] = plan.variants.map((v) => ({
      VariantName: v.variant,
      ModelName: v.model,
      InitialVariantWeight: v.weight,
      InstanceType: plan.instanceType as ProductionVariant['InstanceType'],
      InitialInstanceCount: 1,
    }));
    await sm('CreateEndpointConfig', async () => {
      try {
        await aws.sagemaker.send(
          new CreateEndpointConfigCommand({
            EndpointConfigName: plan.name,
            ProductionVariants: variants,
            DataCaptureConfig: {
              EnableCapture: true,
              InitialSamplingPercentage: Math.max(1, Math.round(plan.capture.samplingPercent)),
              DestinationS3Uri: plan.capture.destination,
              CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
              CaptureContentTypeHeader: { JsonContentTypes: ['application/json'], CsvContentTypes: ['text/csv'] },
            },
          }),
        );
      } catch (err) {
        // The name is a hash of the content: one that exists is this very configuration, made before a crash.
        if (!/already exist/i.test((err as Error).message ?? '')) throw err;
      }
    });
  }

  return {
    describe,
    ensureModel,
    ensureConfig,

    /** Waits until the endpoint is out of any transition; null when there is none. */
    settled: (pipeline: string, endpoint: string) => exclusive(endpoint, () => settled(pipeline, endpoint)),

    /**
     * Makes the endpoint serve `config`: creates the endpoint, or updates it, and waits for InService. An update
     * SageMaker rolled back (a new variant's container did not start) rejects with check_failed: the model's
     * fault, and the endpoint serves its old configuration.
     */
    converge: (pipeline: string, endpoint: string, config: string) =>
      exclusive(endpoint, async () => {
        let state = await settled(pipeline, endpoint);
        if (state?.status === 'InService' && state.configName === config) return;
        if (state?.status === 'Failed') {
          throw new PlatformFailure(`endpoint ${endpoint} is Failed${state.failureReason ? `: ${state.failureReason}` : ''}`);
        }
        const before = state?.configName;
        if (!state) {
          deps.say(pipeline, `creating endpoint ${endpoint} (${config})`);
          await sm('CreateEndpoint', () =>
            aws.sagemaker.send(new CreateEndpointCommand({ EndpointName: endpoint, EndpointConfigName: config })),
          );
        } else {
          deps.say(pipeline, `updating endpoint ${endpoint}: ${before} → ${config}`);
          await sm('UpdateEndpoint', () =>
            aws.sagemaker.send(new UpdateEndpointCommand({ EndpointName: endpoint, EndpointConfigName: config })),
          );
        }
        state = await settled(pipeline, endpoint);
        if (state?.status === 'InService' && state.configName === config) {
          deps.say(pipeline, `endpoint ${endpoint} is InService with ${config}`);
          return;
        }
        const why = state?.failureReason ?? `it is ${state?.status ?? 'gone'}`;
        if (state?.status === 'InService')
          throw new MlpError('check_failed', `SageMaker could not put ${config} on ${endpoint} and kept ${before} serving: ${why}`);
        throw new PlatformFailure(`endpoint ${endpoint} did not become InService with ${config}: ${why}`);
      }),

    /** Sets the variants' weights and waits until DescribeEndpoint reads them back. */
    setWeights: (pipeline: string, endpoint: string, weights: Record<string, number>) =>
      exclusive(endpoint, async () => {
        const wanted = Object.entries(weights);
        const matches = (s: EndpointState | null) =>
          s?.status === 'InService' && wanted.every(([v, w]) => sameWeight(s.weights.get(v) ?? 0, w));
        let state = await settled(pipeline, endpoint);
        if (matches(state)) return;
        if (!state || state.status !== 'InService')
          throw new PlatformFailure(`cannot set the weights of endpoint ${endpoint}: it is ${state?.status ?? 'gone'}`);
        await sm('UpdateEndpointWeightsAndCapacities', () =>
          aws.sagemaker.send(
            new UpdateEndpointWeightsAndCapacitiesCommand({
              EndpointName: endpoint,
              DesiredWeightsAndCapacities: wanted.map(([VariantName, DesiredWeight]) => ({ VariantName, DesiredWeight })),
            }),
          ),
        );
        state = await settled(pipeline, endpoint);
        if (!matches(state)) {
          const got = state ? [...state.weights].map(([v, w]) => `${v} ${w}`).join(', ') : 'no endpoint';
          throw new PlatformFailure(
            `endpoint ${endpoint} did not take the weights ${wanted.map(([v, w]) => `${v} ${w}`).join(', ')} (it reads ${got})`,
          );
        }
      }),

    /** Deletes the endpoint (a first version that never went live), waiting until it is gone. */
    remove: (pipeline: string, endpoint: string) =>
      exclusive(endpoint, async () => {
        const state = await settled(pipeline, endpoint);
        if (!state) return;
        deps.say(pipeline, `deleting endpoint ${endpoint}`);
        await sm('DeleteEndpoint', async () => {
          try {
            await aws.sagemaker.send(new DeleteEndpointCommand({ EndpointName: endpoint }));
          } catch (err) {
            if (!isMissing(err)) throw err;
          }
        });
      }),

    /** Deletes the endpoint configurations `isOurs` picks, except `keep`. */
    async deleteConfigs(isOurs: (name: string) => boolean, keep: string | undefined): Promise<string[]> {
      const names: string[] = [];
      let token: string | undefined;
      do {
        const page = await sm('ListEndpointConfigs', () =>
          aws.sagemaker.send(new ListEndpointConfigsCommand({ MaxResults: 100, ...(token ? { NextToken: token } : {}) })),
        );
        for (const c of page.EndpointConfigs ?? [])
          if (c.EndpointConfigName && isOurs(c.EndpointConfigName) && c.EndpointConfigName !== keep) names.push(c.EndpointConfigName);
        token = page.NextToken;
      } while (token);
      for (const name of names) {
        await sm('DeleteEndpointConfig', async () => {
          try {
            await aws.sagemaker.send(new DeleteEndpointConfigCommand({ EndpointConfigName: name }));
          } catch (err) {
            if (!isMissing(err)) throw err;
          }
        });
      }
      return names;
    },

    async deleteModel(name: string): Promise<void> {
      await sm('DeleteModel', async () => {
        try {
          await aws.sagemaker.send(new DeleteModelCommand({ ModelName: name }));
        } catch (err) {
          if (!isMissing(err)) throw err;
        }
      });
    },
  };
}

/** SageMaker weights are floats: percentages with two decimals compare equal within rounding. */
const sameWeight = (a: number, b: number) => Math.abs(a - b) < 1e-6 * Math.max(1, Math.abs(b));

/** SageMaker says a resource does not exist with a ValidationException ("Could not find endpoint ..."). */
function isMissing(err: unknown): boolean {
  const e = err as { name?: string; message?: string };
  return (
    (e.name === 'ValidationException' || e.name === 'ResourceNotFound') && /could not find|does not exist|not found/i.test(e.message ?? '')
  );
}
