/**
 * What moto lacks about endpoints: their lifecycle and the servers behind them. moto keeps the
 * resources (models, configs, endpoints, weights); this keeps, per endpoint, the status SageMaker would
 * show (Creating/Updating take at least `transitionMs` and until every variant's container passes
 * /ping), the variants that serve traffic now with their model servers and weights, and the Data
 * Capture settings of the config they came from. UpdateEndpoint, which moto does not implement, starts
 * the new config's servers, then re-creates the endpoint in moto on the new config (same name, same
 * ARN) and retires the old servers; if the new servers fail, the old config keeps serving and
 * FailureReason says why.
 */
import { AwsError } from './aws-errors.js';
import type { DataCaptureConfig } from './capture.js';
import type { ModelContainers, ModelServer, ModelSpec } from './model-containers.js';
import { motoJson, type MotoRpc } from './moto-rpc.js';

export type EndpointStatus = 'Creating' | 'Updating' | 'InService' | 'Failed';

export interface LiveVariant {
  name: string;
  weight: number;
  server: ModelServer;
}

export interface EndpointState {
  name: string;
  status: EndpointStatus;
  failureReason?: string;
  configName: string;
  live: Map<string, LiveVariant>;
  capture?: DataCaptureConfig;
  /** Set while moto's endpoint is being re-created on a new config; calls about it wait for the swap. */
  swapping?: Promise<void>;
}

interface ConfigVariant {
  VariantName: string;
  ModelName: string;
  InitialVariantWeight?: number;
}
interface EndpointConfig {
  EndpointConfigName: string;
  ProductionVariants: ConfigVariant[];
  DataCaptureConfig?: DataCaptureConfig;
}
interface Container {
  Image?: string;
  ModelDataUrl?: string;
  Environment?: Record<string, string>;
}
interface MotoEndpoint {
  EndpointConfigName?: string;
  EndpointStatus?: string;
  FailureReason?: string;
  ProductionVariants?: { VariantName: string; CurrentWeight?: number; DesiredWeight?: number }[];
  [field: string]: unknown;
}

export class Endpoints {
  private readonly endpoints = new Map<string, EndpointState>();

  constructor(
    private readonly moto: MotoRpc,
    private readonly containers: ModelContainers,
    private readonly transitionMs: number,
    private readonly log: (line: string) => void,
  ) {}

  get(name: string): EndpointState | undefined {
    return this.endpoints.get(name);
  }

  /** After moto created the endpoint: Creating until its variants serve. */
  created(name: string, configName: string): void {
    const state: EndpointState = { name, status: 'Creating', configName, live: new Map() };
    this.endpoints.set(name, state);
    void this.transition(state, async () => {
      const { variants, capture } = await this.bringUp(name, configName);
      if (await this.discardIfDeleted(state, variants)) return;
      state.live = await this.withMotoWeights(name, variants);
      state.capture = capture;
    }).catch((err: Error) => {
      state.status = 'Failed';
      state.failureReason = err.message;
    });
  }

  /** UpdateEndpoint: switch to another config while the current one keeps serving. */
  async update(input: { EndpointName?: string; EndpointConfigName?: string; RetainAllVariantProperties?: boolean }): Promise<object> {
    this.inService(input.EndpointName);
    const config = await motoJson<EndpointConfig>(this.moto, 'DescribeEndpointConfig', { EndpointConfigName: input.EndpointConfigName });
    const endpoint = await motoJson<{ EndpointArn: string }>(this.moto, 'DescribeEndpoint', { EndpointName: input.EndpointName });
    // Checked again after the lookups, so of two updates at once only one starts (transition marks it Updating at once).
    const state = this.inService(input.EndpointName);
    const previous = state.live;
    void this.transition(state, async () => {
      const { variants, capture } = await this.bringUp(state.name, config.EndpointConfigName);
      if (await this.discardIfDeleted(state, variants)) return;
      let swapped!: () => void;
      state.swapping = new Promise((resolve) => (swapped = resolve));
      try {
        await motoJson(this.moto, 'DeleteEndpoint', { EndpointName: state.name });
        await motoJson(this.moto, 'CreateEndpoint', { EndpointName: state.name, EndpointConfigName: config.EndpointConfigName });
        const kept = [...variants.keys()].filter((v) => previous.has(v));
        if (input.RetainAllVariantProperties && kept.length) {
          await motoJson(this.moto, 'UpdateEndpointWeightsAndCapacities', {
            EndpointName: state.name,
            DesiredWeightsAndCapacities: kept.map((v) => ({ VariantName: v, DesiredWeight: previous.get(v)!.weight })),
          });
        }
        state.live = await this.withMotoWeights(state.name, variants);
      } catch (err) {
        await Promise.all([...variants.values()].map((s) => s.stop()));
        throw err;
      } finally {
        state.swapping = undefined;
        swapped();
      }
      state.configName = config.EndpointConfigName;
      state.capture = capture;
      state.failureReason = undefined;
      await Promise.all([...previous.values()].map((v) => v.server.stop()));
    }).catch((err: Error) => {
      state.status = 'InService';
      state.failureReason = err.message;
      this.log(`UpdateEndpoint ${state.name} failed, the previous config keeps serving: ${err.message}`);
    });
    return { EndpointArn: endpoint.EndpointArn };
  }

  /** Waits while moto's endpoint is being swapped to a new config, so no call sees it missing. */
  async settled(name: string | undefined): Promise<void> {
    const swapping = name ? this.endpoints.get(name)?.swapping : undefined;
    if (swapping) await swapping;
  }

  /** Checked before moto applies new weights: SageMaker refuses them while the endpoint changes. */
  assertUpdatable(name: string | undefined): void {
    this.inService(name);
  }

  /** After moto applied new weights: Updating for a moment, then the traffic moves. */
  weightsChanged(name: string, desired: { VariantName?: string; DesiredWeight?: number }[]): void {
    const state = this.endpoints.get(name);
    if (!state) return;
    void this.transition(state, async () => {
      await new Promise((r) => setTimeout(r, this.transitionMs));
      for (const d of desired) {
        const variant = d.VariantName ? state.live.get(d.VariantName) : undefined;
        if (variant && d.DesiredWeight !== undefined) variant.weight = d.DesiredWeight;
      }
    });
  }

  /** moto's DescribeEndpoint answer with what SageMaker would show instead: status, failure, weights serving now. */
  describe(moto: MotoEndpoint): MotoEndpoint {
    const state = typeof moto.EndpointName === 'string' ? this.endpoints.get(moto.EndpointName) : undefined;
    const variants = (moto.ProductionVariants ?? []).map((v) => ({
      ...v,
      CurrentWeight: state?.live.get(v.VariantName)?.weight ?? v.CurrentWeight ?? 0,
      DesiredWeight: v.DesiredWeight ?? 0,
    }));
    const answer: MotoEndpoint = { ...moto, ProductionVariants: variants };
    if (!state) return answer;
    answer.EndpointStatus = state.status;
    if (state.failureReason) answer.FailureReason = state.failureReason;
    else delete answer.FailureReason;
    return answer;
  }

  async deleted(name: string): Promise<void> {
    const state = this.endpoints.get(name);
    this.endpoints.delete(name);
    if (state) await Promise.all([...state.live.values()].map((v) => v.server.stop()));
  }

  async reset(): Promise<void> {
    this.endpoints.clear();
    await this.containers.stopAll();
  }

  private inService(name: string | undefined): EndpointState {
    const state = name ? this.endpoints.get(name) : undefined;
    if (!state) throw new AwsError('ValidationException', `Could not find endpoint "${name}".`);
    if (state.status !== 'InService')
      throw new AwsError('ValidationException', `Cannot update in-progress endpoint "${name}" (status ${state.status}).`);
    return state;
  }

  /** Runs a change with the endpoint Updating (or Creating) for at least transitionMs, then InService. */
  private async transition(state: EndpointState, change: () => Promise<void>): Promise<void> {
    if (state.status !== 'Creating') state.status = 'Updating';
    const minimum = new Promise((r) => setTimeout(r, this.transitionMs));
    await Promise.all([change(), minimum]);
    state.status = 'InService';
  }

  /** An endpoint deleted while its servers started does not keep them. */
  private async discardIfDeleted(state: EndpointState, servers: Map<string, ModelServer>): Promise<boolean> {
    if (this.endpoints.get(state.name) === state) return false;
    await Promise.all([...servers.values()].map((s) => s.stop()));
    return true;
  }

  /** Starts a server for every variant of the config (all or none). */
  private async bringUp(
    endpoint: string,
    configName: string,
  ): Promise<{ variants: Map<string, ModelServer>; capture?: DataCaptureConfig }> {
    const config = await motoJson<EndpointConfig>(this.moto, 'DescribeEndpointConfig', { EndpointConfigName: configName });
    const specs = await Promise.all(config.ProductionVariants.map((v) => this.modelSpec(v.ModelName)));
    const started = await Promise.allSettled(
      config.ProductionVariants.map((v, i) => this.containers.start(endpoint, v.VariantName, specs[i]!)),
    );
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
      throw failed.reason;
    }
    const variants = new Map(
      config.ProductionVariants.map((v, i) => [v.VariantName, (started[i] as PromiseFulfilledResult<ModelServer>).value]),
    );
    return { variants, capture: config.DataCaptureConfig };
  }

  private async modelSpec(modelName: string): Promise<ModelSpec> {
    const model = await motoJson<{ PrimaryContainer?: Container; Containers?: Container[] }>(this.moto, 'DescribeModel', {
      ModelName: modelName,
    });
    const container = model.PrimaryContainer ?? model.Containers?.[0];
    if (!container?.Image) throw new Error(`model ${modelName} has no container image`);
    return { name: modelName, image: container.Image, modelDataUrl: container.ModelDataUrl, environment: container.Environment ?? {} };
  }

  /** The weights moto holds for the endpoint (a variant at weight 0 has none there). */
  private async withMotoWeights(name: string, servers: Map<string, ModelServer>): Promise<Map<string, LiveVariant>> {
    const moto = await motoJson<MotoEndpoint>(this.moto, 'DescribeEndpoint', { EndpointName: name });
    const weights = new Map((moto.ProductionVariants ?? []).map((v) => [v.VariantName, v.CurrentWeight ?? 0]));
    return new Map([...servers].map(([variant, server]) => [variant, { name: variant, weight: weights.get(variant) ?? 0, server }]));
  }
}
