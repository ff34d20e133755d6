/**
 * Serving in the daemon: which variants should be live (the store), their supervised model servers,
 * and the route table the router reads. After a restart every variant the store says is live is
 * started again; its traffic resumes when its server answers /ping.
 *
 * The rollout controller drives it through the serving platform of the `local` and `docker` backends
 * (daemon/platform/local.ts): start a candidate beside the current version at weight 0, move weights,
 * promote (the old server stops after its in-flight requests drained) or retire it.
 */
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { describeError, MlpError } from '../../shared/errors.js';
import { roundPercent } from '../../shared/percent.js';
import type { EventBus } from '../events.js';
import type { Logger } from '../log.js';
import type { StorageHealth } from '../storage-health.js';
import type { InForcePipeline } from '../repo/reconcile.js';
import { overServerBudget } from '../platform/budget.js';
import { endpointName } from '../platform/sagemaker/naming.js';
import { artifactDir, pipelineArtifactsDir } from '../runs/artifacts.js';
import type { Store } from '../store/db.js';
import type { Variant, VariantObservation } from '../store/variants.js';
import { createRouteTable, type DownVariant, type MutableRouteTable, type RoutePipeline, type RouteVariant } from './router/routes.js';
import { createModelHost, type ModelHost } from './servers/model-host.js';
import { hostKey, invokePath, modelName, modelUrl } from './servers/multi-model.js';
import { MODEL_SERVER_HOST, type ServerBackend } from './servers/servers.js';
import { createPortPool } from './servers/ports.js';
import { createStartSlots } from './servers/start-slots.js';
import { supervise, type StateChange, type SupervisedState, type Supervisor } from './servers/supervisor.js';
import { systemClock, type WallClock } from '../scheduler/clock.js';

export interface ServingDeps {
  store: Store;
  /** Where a refused write of a server's observed state waits (the router keeps going from memory). */
  storage: StorageHealth;
  log: Logger;
  bus: EventBus;
  dataDir: string;
  /** Every pipeline in force: one on SageMaker keeps routes here, for its variants still on the router while it moves and for the 503 that names its endpoint. */
  pipelines(): InForcePipeline[];
  pipeline(name: string): InForcePipeline | undefined;
  /** Model servers starting at once (restore after a restart, candidates, restarts after a crash); asked at each start. Default: 4 per core. */
  startingAtOnce?(): number;
  groupsOf(name: string): readonly string[];
  backend(kind: ServerBackend['kind']): ServerBackend;
  /** At most this many model servers run (serving.max_servers): a new candidate beyond it is refused; undefined: no limit. */
  maxServers?(): number | undefined;
  /** How long a retired server keeps getting no new traffic before it is stopped. */
  drainMs?: number;
  /** Called after a variant's state changed (the daemon republishes the pipeline's status). */
  onVariantChanged?(pipeline: string): void;
  /** Called when a variant stopped serving for good (its live metrics can go). */
  onRetired?(pipeline: string, group: string, variant: string): void;
  /** Stamps the servers' log lines; default the system clock. */
  clock?: WallClock;
}

export interface Serving {
  readonly table: MutableRouteTable;
  /** Starts the servers of every variant the store says is live (what a killed daemon left running is reaped before). */
  restore(): Promise<void>;
  /**
   * Starts `version` of the group beside the current one at weight 0 (idempotent); resolves once it is live and
   * the current version's server (restored after a restart) has started, rejects when the candidate's first start fails.
   */
  startCandidate(pipeline: string, group: string, version: number): Promise<void>;
  /** Why a candidate of the pipeline is not serving right now (its server is restarting, or was given up on); null when all are live. */
  candidatesDown(pipeline: string): string | null;
  /** Resolves once every candidate of the pipeline is live again; rejects, saying which and why, when one was given up on. */
  candidatesBack(pipeline: string): Promise<void>;
  /**
   * Where a group's current or candidate model server listens (for gates that call it directly), and the path of its
   * invocations: `/invocations`, or `/models/<name>/invoke` on a multi-model server (with the model's name).
   */
  endpointOf(
    pipeline: string,
    group: string,
    role: 'current' | 'candidate',
  ): { variant: string; host: string; port: number; path: string; model?: string } | null;
  /** Candidates get `weight`% of their group's traffic, the current variants the rest (idempotent). */
  setCandidateWeight(pipeline: string, weight: number): void;
  /** Candidates become current at 100%; the old current variants drain and stop (idempotent). */
  promoteCandidates(pipeline: string): Promise<void>;
  /** Candidates go back to 0% and stop; the current variants keep all traffic (idempotent). */
  retireCandidates(pipeline: string): Promise<void>;
  /**
   * The candidates get no traffic from now on, in memory only: a rollback that storage could not
   * record yet. Ends when the candidates are retired or promoted (or with the process).
   */
  holdCandidates(pipeline: string): void;
  /**
   * Stops (after their drain) the servers of the pipeline's variants the store no longer holds live: a group that
   * moved to SageMaker, whose promotion there retired its version here. Idempotent.
   */
  stopRetired(pipeline: string): Promise<void>;
  /** Recomputes the routes of these pipelines, or of every pipeline (after pipelines or groups changed). */
  refreshRoutes(pipelines?: readonly string[]): void;
  /** How many model servers should run, and what they are doing now (a multi-model server counts once, whatever it hosts). */
  servers(): ServerCounts;
  /** Stops every server; the store keeps them live, so the next start restores them. */
  close(): Promise<void>;
}

/** Enough to keep every core busy while servers start, few enough that each one is quick. */
export const DEFAULT_STARTING_AT_ONCE = 4 * availableParallelism();

/** Model servers that should run, by what they are doing (docs/fleet.md). */
export interface ServerCounts {
  total: number;
  live: number;
  /** Started, not answering /ping yet. */
  starting: number;
  /** Waiting for their turn to start. */
  waiting: number;
  failed: number;
  /** Retired, finishing their requests before they stop (they count against the budget until then). */
  draining: number;
  /** serving.max_servers; null: no limit. */
  max: number | null;
}

export function createServing(deps: ServingDeps): Serving {
  const clock = deps.clock ?? systemClock;
  const { store, log } = deps;
  const table = createRouteTable();
  /** Per live variant: its own server's supervisor, or its model's handle on its pipeline's multi-model server. */
  const supervisors = new Map<number, Supervisor>();
  /** The multi-model servers, by hostKey, and the variants whose models they host (until their unload is over). */
  const hosts = new Map<string, ModelHost>();
  const hosted = new Set<number>();
  const drainMs = deps.drainMs ?? 2_000;
  // Unique per data dir and variant: names a server in its environment and its container's labels.
  const dataDirId = createHash('sha256').update(deps.dataDir).digest('hex').slice(0, 12);
  const serverId = (v: Variant) => `${dataDirId}-${v.id}`;
  const held = new Set<string>();
  const weightOf = (v: Variant) => (held.has(v.pipeline) ? (v.role === 'candidate' ? 0 : 100) : v.weight);

  const startingAtOnce = deps.startingAtOnce ?? (() => DEFAULT_STARTING_AT_ONCE);
  const slots = createStartSlots(startingAtOnce);
  const ports = createPortPool(MODEL_SERVER_HOST);
  let closing = false;

  const routeOf = (p: InForcePipeline): RoutePipeline => ({
    name: p.name,
    groups: deps.groupsOf(p.name),
    timeoutMs: p.config.pipeline.serve.timeout_seconds * 1000,
    captureSamplingPercent: p.config.pipeline.deployment.capture.sampling_percent,
    ...(p.config.pipeline.deployment.backend === 'sagemaker'
      ? { servedOn: Object.fromEntries(deps.groupsOf(p.name).map((group) => [group, endpointName(p.name, group)])) }
      : {}),
  });
  /** What the router needs of these variants: the live ones' addresses, and why the others do not serve. */
  const routed = (variants: Variant[]) => {
    const live: RouteVariant[] = [];
    const down: DownVariant[] = [];
    for (const v of variants) {
      if (!served(v)) continue; // its endpoint serves it, not this router
      const sup = supervisors.get(v.id);
      if (sup?.state === 'live' && sup.port !== null) {
        const path = hosted.has(v.id) ? { invocationsPath: invokePath(modelName(v.group, v.version)) } : {};
        live.push({
          pipeline: v.pipeline,
          group: v.group,
          name: `v${v.version}`,
          role: v.role,
          weight: weightOf(v),
          host: MODEL_SERVER_HOST,
          port: sup.port,
          ...path,
        });
      } else {
        down.push({ pipeline: v.pipeline, group: v.group, reason: downReason(v, sup) });
      }
    }
    return { live, down };
  };
  // One server's change rebuilds its pipeline's routes only: the fleet's routes would cost the square of the fleet.
  const refreshRoutes = (names?: readonly string[]) => {
    if (names === undefined) {
      const { live, down } = routed(store.variants.live());
      table.replace(deps.pipelines().map(routeOf), live, down);
      return;
    }
    for (const name of names) {
      const p = deps.pipeline(name);
      if (!p) {
        table.removePipeline(name);
        continue;
      }
      const { live, down } = routed(store.variants.live(name));
      table.setPipeline(routeOf(p), live, down);
    }
  };

  /**
   * Servers' states are recorded at the end of the tick, the tick's changes together in one transaction: a
   * thousand servers coming back are a few commits, not three thousand (each one's pages appended to the WAL
   * and, every thousand pages, a checkpoint on the daemon's thread). The routes do not wait for it: they
   * follow the supervisors.
   */
  const observedWaiting = new Map<number, VariantObservation>();
  let observedFlush: NodeJS.Immediate | undefined;
  const writeObserved = () => {
    clearImmediate(observedFlush);
    observedFlush = undefined;
    if (observedWaiting.size === 0) return;
    const writes = new Map([...observedWaiting].map(([id, o]) => [`variant ${id}`, () => store.variants.observe(id, o)]));
    observedWaiting.clear();
    try {
      deps.storage.writeTogether(writes, (all) => store.transaction(all));
    } catch (err) {
      log.error('serve', `cannot record the model servers' states: ${describeError(err)}`);
    }
  };
  let closed = false;
  const recordObserved = (id: number, o: VariantObservation) => {
    if (closed) return; // the store may be closed by now; the next start observes the servers again
    observedWaiting.set(id, o);
    observedFlush ??= setImmediate(writeObserved);
  };

  /** The variants this daemon's own servers run (a SageMaker variant serves on its endpoint). */
  const served = (v: Variant): v is Variant & { backend: ServerBackend['kind'] } => v.backend !== 'sagemaker';

  const start = (v: Variant & { backend: ServerBackend['kind'] }): Supervisor => {
    const p = deps.pipeline(v.pipeline);
    if (!p) throw new MlpError('not_found', `pipeline '${v.pipeline}' is not in force: cannot serve v${v.version}`);
    const name = `${v.group}/v${v.version}`;
    const onChange = (change: StateChange) => {
      const observed = {
        state: change.state,
        port: change.port,
        handle: change.handle,
        restarts: change.restarts,
        lastError: change.lastError,
        at: clock.now(),
      };
      // Routes come from the supervisors, so traffic follows the server even when this write waits.
      recordObserved(v.id, observed);
      if (closing) return; // every server stops now: nobody routes to them or watches them any more
      if (change.state === 'live')
        log.info('serve', `${name} is live on port ${change.port}${change.restarts ? ` (restart ${change.restarts})` : ''}`, v.pipeline);
      else if (change.state === 'failed') log.error('serve', `${name} failed: ${change.error}`, v.pipeline);
      else if (change.state === 'starting' && change.error) log.warn('serve', `${name}: ${change.error}; restarting`, v.pipeline);
      refreshRoutes([v.pipeline]);
      deps.onVariantChanged?.(v.pipeline);
    };
    const sup =
      p.config.pipeline.serve.mode === 'multi-model'
        ? hostModel(v, p, onChange)
        : supervise({
            spec: {
              pipeline: v.pipeline,
              group: v.group,
              variant: `v${v.version}`,
              pipelineDir: p.dir,
              command: p.config.pipeline.serve.command,
              modelDir: artifactDir(deps.dataDir, v.pipeline, v.group, v.version),
              serverId: serverId(v),
              ...(p.config.pipeline.image ? { image: p.config.pipeline.image } : {}),
            },
            backend: deps.backend(v.backend),
            slots,
            ports,
            startupTimeoutMs: p.config.pipeline.serve.startup_timeout_seconds * 1000,
            onLine: (stream, line) =>
              deps.bus.publish({
                kind: 'log',
                at: clock.now(),
                pipeline: v.pipeline,
                runId: null,
                step: `serve ${name}`,
                group: v.group,
                stream,
                line,
              }),
            onChange,
          });
    supervisors.set(v.id, sup);
    return sup;
  };

  /** The variant's model on its pipeline's multi-model server, which starts with its first model. */
  const hostModel = (
    v: Variant & { backend: ServerBackend['kind'] },
    p: InForcePipeline,
    onChange: (change: StateChange) => void,
  ): Supervisor => {
    const key = hostKey(v);
    const models = pipelineArtifactsDir(deps.dataDir, v.pipeline);
    let host = hosts.get(key);
    if (!host) {
      const startupTimeoutMs = p.config.pipeline.serve.startup_timeout_seconds * 1000;
      const created = createModelHost({
        spec: {
          pipeline: v.pipeline,
          group: '',
          variant: '',
          multiModel: true,
          pipelineDir: p.dir,
          command: p.config.pipeline.serve.command,
          modelDir: models,
          serverId: `${dataDirId}-${hostKey(v).replace('\u0000', '-')}`,
          ...(p.config.pipeline.image ? { image: p.config.pipeline.image } : {}),
        },
        backend: deps.backend(v.backend),
        slots,
        ports,
        startupTimeoutMs,
        // Loading a model is the part of a server's start that a multi-model server does per model.
        loadTimeoutMs: startupTimeoutMs,
        onLine: (stream, line) =>
          deps.bus.publish({
            kind: 'log',
            at: clock.now(),
            pipeline: v.pipeline,
            runId: null,
            step: 'serve multi-model',
            group: null,
            stream,
            line,
          }),
        onEmpty: () => {
          if (hosts.get(key) === created) hosts.delete(key);
        },
      });
      hosts.set(key, (host = created));
    }
    hosted.add(v.id);
    return host.add(
      { name: modelName(v.group, v.version), url: modelUrl(v.backend, models, artifactDir(deps.dataDir, v.pipeline, v.group, v.version)) },
      onChange,
    );
  };

  /** Servers that run now: each variant's own, those still draining, and the multi-model servers. */
  const serversRunning = () =>
    supervisors.size - [...supervisors.keys()].filter((id) => hosted.has(id)).length + drainingServers() + hosts.size;
  const drainingServers = () => [...draining.keys()].filter((id) => !hosted.has(id)).length;

  // Servers out of the routes, finishing the requests already sent to them: close() stops them too,
  // or a daemon stopped during a drain would leave them running.
  const draining = new Map<number, { endDrain: () => void; stopped: Promise<void> }>();

  const stopVariant = (id: number): Promise<void> => {
    const sup = supervisors.get(id);
    supervisors.delete(id);
    const retiring = store.variants.get(id);
    if (retiring) refreshRoutes([retiring.pipeline]);
    let endDrain = () => {};
    const drained = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, sup ? drainMs : 0);
      endDrain = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    const stopped = (async () => {
      await drained;
      await sup?.stop();
      const v = store.variants.get(id);
      if (v) deps.onRetired?.(v.pipeline, v.group, `v${v.version}`);
    })().finally(() => {
      draining.delete(id);
      hosted.delete(id);
    });
    draining.set(id, { endDrain, stopped });
    return stopped;
  };

  return {
    table,
    refreshRoutes,
    servers() {
      const by: Record<SupervisedState, number> = { starting: 0, live: 0, failed: 0, stopped: 0 };
      for (const [id, sup] of supervisors) if (!hosted.has(id)) by[sup.state]++;
      for (const host of hosts.values()) by[host.state]++;
      return {
        total: by.starting + by.live + by.failed + by.stopped,
        live: by.live,
        starting: Math.max(0, by.starting - slots.waiting),
        waiting: slots.waiting,
        failed: by.failed,
        draining: drainingServers(),
        max: deps.maxServers?.() ?? null,
      };
    },
    async restore() {
      // A candidate started since the daemon began (a run finished quickly) has its server already.
      const variants = store.variants
        .live()
        .filter(served)
        .filter((v) => !supervisors.has(v.id));
      // Until its server answers again a variant is starting, not what it was when the daemon stopped.
      deps.storage.write('variants being restored', () =>
        store.transaction(() => {
          for (const v of variants)
            store.variants.observe(v.id, { state: 'starting', port: null, handle: null, restarts: 0, lastError: v.lastError });
        }),
      );
      for (const v of variants) {
        try {
          start(v);
        } catch (err) {
          log.error('serve', `cannot restore ${v.group}/v${v.version}: ${describeError(err)}`, v.pipeline);
        }
      }
      const servers = serversRunning();
      if (variants.length) {
        const hosting =
          servers === variants.length
            ? ''
            : ` of ${variants.length.toLocaleString('en-US')} live variant${variants.length === 1 ? '' : 's'}`;
        log.info(
          'serve',
          `bringing back ${servers.toLocaleString('en-US')} model server${servers === 1 ? '' : 's'}${hosting}, ${startingAtOnce()} starting at once`,
        );
      }
      refreshRoutes();
    },
    async startCandidate(pipeline, group, version) {
      const p = deps.pipeline(pipeline);
      if (!p) throw new MlpError('not_found', `no pipeline named '${pipeline}'`);
      const backend: ServerBackend['kind'] = p.config.pipeline.deployment.backend === 'docker' ? 'docker' : 'local';
      const live = store.variants.live(pipeline).filter((v) => v.group === group);
      let candidate = live.find((v) => v.version === version);
      if (candidate?.role === 'current') return; // already serving: nothing to roll out for this group
      // Another version left as candidate (an older, superseded rollout) makes room for this one.
      for (const old of live.filter((v) => v.role === 'candidate' && v.version !== version)) {
        store.variants.retire(old.id);
        await stopVariant(old.id);
      }
      // A multi-model server that runs already hosts the candidate too: only a new server counts against the budget.
      const needsServer = p.config.pipeline.serve.mode !== 'multi-model' || !hosts.has(hostKey({ pipeline, backend }));
      if (!candidate && needsServer) {
        // Servers still draining run too: they count until they have stopped.
        const max = deps.maxServers?.();
        const servers = serversRunning();
        if (max !== undefined && servers + 1 > max) {
          throw overServerBudget(
            `v${version} of ${pipeline}/${group} needs a model server, and ${servers} of serving.max_servers ${max} run`,
            { servers, max },
          );
        }
      }
      candidate ??= store.variants.create({ pipeline, group, version, role: 'candidate', weight: 0, backend });
      if (!served(candidate))
        throw new MlpError('conflict', `v${version} of ${pipeline}/${group} serves on SageMaker, not on this daemon's router`);
      const sup = supervisors.get(candidate.id) ?? start(candidate);
      // After a restart the current version's server is coming back too, and the gates compare against it.
      // One that already failed its first start is not waited for (replay then says it is not live).
      const current = live.find((v) => v.role === 'current');
      const currentLive = current && supervisors.get(current.id)?.firstLive.catch(() => {});
      try {
        await sup.firstLive;
      } catch (err) {
        throw new MlpError('check_failed', `v${version} of ${pipeline}/${group} did not start: ${(err as Error).message}`);
      }
      await currentLive;
    },
    candidatesDown(pipeline) {
      for (const v of store.variants.live(pipeline).filter((x) => x.role === 'candidate')) {
        const state = supervisors.get(v.id)?.state ?? 'stopped';
        if (state !== 'live')
          return `v${v.version} of ${pipeline}/${v.group} is not live (${state}${v.lastError ? `: ${v.lastError}` : ''})`;
      }
      return null;
    },
    async candidatesBack(pipeline) {
      await Promise.all(
        store.variants
          .live(pipeline)
          .filter((v) => v.role === 'candidate')
          .map(async (v) => {
            try {
              const sup = supervisors.get(v.id);
              if (!sup) throw new Error('it has no server');
              await sup.whenLive();
            } catch (err) {
              throw new MlpError('check_failed', `v${v.version} of ${pipeline}/${v.group} did not come back: ${(err as Error).message}`);
            }
          }),
      );
    },
    endpointOf(pipeline, group, role) {
      const v = store.variants.live(pipeline).find((x) => x.group === group && x.role === role);
      const port = v ? supervisors.get(v.id)?.port : null;
      if (!v || !port) return null;
      if (!hosted.has(v.id)) return { variant: `v${v.version}`, host: MODEL_SERVER_HOST, port, path: '/invocations' };
      const model = modelName(v.group, v.version);
      return { variant: `v${v.version}`, host: MODEL_SERVER_HOST, port, path: invokePath(model), model };
    },
    setCandidateWeight(pipeline, weight) {
      store.transaction(() => {
        for (const v of store.variants.live(pipeline)) {
          const hasCandidate = store.variants.live(pipeline).some((x) => x.group === v.group && x.role === 'candidate');
          store.variants.setWeight(v.id, v.role === 'candidate' ? weight : hasCandidate ? roundPercent(100 - weight) : 100);
        }
      });
      refreshRoutes([pipeline]);
      deps.onVariantChanged?.(pipeline);
    },
    async promoteCandidates(pipeline) {
      const retired: number[] = [];
      store.transaction(() => {
        const live = store.variants.live(pipeline);
        for (const c of live.filter((v) => v.role === 'candidate')) {
          const current = live.find((v) => v.group === c.group && v.role === 'current');
          if (current) {
            store.variants.retire(current.id);
            retired.push(current.id);
          }
          store.variants.setRole(c.id, 'current');
          store.variants.setWeight(c.id, 100);
        }
      });
      held.delete(pipeline);
      refreshRoutes([pipeline]);
      deps.onVariantChanged?.(pipeline);
      await Promise.all(retired.map(stopVariant));
    },
    async retireCandidates(pipeline) {
      const candidates = store.variants.live(pipeline).filter((v) => v.role === 'candidate');
      store.transaction(() => {
        for (const c of candidates) store.variants.retire(c.id);
        for (const v of store.variants.live(pipeline)) store.variants.setWeight(v.id, 100);
      });
      held.delete(pipeline);
      refreshRoutes([pipeline]);
      deps.onVariantChanged?.(pipeline);
      await Promise.all(candidates.map((c) => stopVariant(c.id)));
    },
    async stopRetired(pipeline) {
      const live = new Set(store.variants.live(pipeline).map((v) => v.id));
      const gone = [...supervisors.keys()].filter((id) => !live.has(id) && store.variants.get(id)?.pipeline === pipeline);
      for (const id of gone) {
        const v = store.variants.get(id)!;
        log.info('serve', `${v.group}/v${v.version} stops: the group serves on SageMaker now`, pipeline);
      }
      await Promise.all(gone.map(stopVariant));
    },
    holdCandidates(pipeline) {
      if (held.has(pipeline)) return;
      held.add(pipeline);
      log.warn('serve', 'candidates get no traffic until the rollback can be recorded', pipeline);
      refreshRoutes([pipeline]);
    },
    async close() {
      closing = true;
      const retiring = [...draining.values()];
      for (const r of retiring) r.endDrain();
      const own = [...supervisors].filter(([id]) => !hosted.has(id)).map(([, s]) => s);
      await Promise.all([
        ...own.map((s) => s.stop(3_000)),
        ...[...hosts.values()].map((h) => h.close(3_000)),
        ...retiring.map((r) => r.stopped),
      ]);
      writeObserved(); // the servers' last states ('stopped'), before the store closes
      closed = true;
      supervisors.clear();
      hosts.clear();
      hosted.clear();
    },
  };
}

/** Why a variant that should serve does not, for the router's 503. */
function downReason(v: Variant, sup: Supervisor | undefined): string {
  const which = `${v.role === 'current' ? 'its current version' : 'the candidate'} v${v.version}`;
  if (sup?.state === 'failed') return `${which} could not be started (see mlp logs ${v.pipeline})`;
  return `${which} is not serving yet, its model server is starting; retry shortly`;
}
