/**
 * Model servers as processes (docs/serving.md, "Model servers (variants)": the SageMaker bring-your-own-container contract): the
 * server listens on HOST:PORT, answers `GET /ping` with 200 when ready and `POST /invocations` with
 * predictions. A backend only starts and stops servers; readiness, restarts and routing are the
 * supervisor's job.
 */
import { UNRECORDED, type ChildLedger, type ChildPurpose } from '../../children/ledger.js';
import { lineSplitter } from '../../executors/executor.js';
import { directArgv } from './argv.js';
import { createSpawner, type Spawner } from '../../children/spawner.js';
import { shellScriptOnPath, shimWarning } from './shim.js';

export interface ServerSpec {
  pipeline: string;
  /** Empty for a multi-model server: it hosts every group. */
  group: string;
  /** `v3`; empty for a multi-model server. */
  variant: string;
  /** A multi-model server (serve.mode multi-model): `modelDir` is then the pipeline's artifacts, its models are loaded over HTTP. */
  multiModel?: true;
  /** The pipeline folder (working directory of a local server; mounted as the code in a container). */
  pipelineDir: string;
  /** `serve.command` of the config. */
  command: string;
  /** The versioned model (the artifact store's copy); for a multi-model server, the pipeline's folder of them. */
  modelDir: string;
  /** Container image for the docker backend (undefined: built from the pipeline's Dockerfile). */
  image?: string;
  /** Identifies this variant's server across daemon restarts (in its environment, or a container label). */
  serverId: string;
  port: number;
}

export interface RunningServer {
  /** How to find the server again after a daemon crash: `pid:N` or `container:ID`. */
  readonly handle: string;
  /** Resolves when the server process ends, for whatever reason. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** The last lines it printed, for error messages. */
  tail(): string[];
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
  stop(graceMs: number): Promise<void>;
  /** It answered /ping: from now on it serves traffic, so it no longer yields the CPU (serving.starting_nice). */
  live?(): void;
}

export interface ServerBackend {
  readonly kind: 'local' | 'docker';
  start(spec: ServerSpec, onLine: (stream: 'stdout' | 'stderr', line: string) => void): Promise<RunningServer>;
}

/** A server as the ledger of the daemon's children records it. */
export function serverPurpose(spec: ServerSpec): ChildPurpose {
  return { what: `${serverName(spec)} on port ${spec.port}` };
}

/** `model server p/g/v3`, or `multi-model server of p`: how logs and errors name a server. */
export function serverName(spec: Pick<ServerSpec, 'pipeline' | 'group' | 'variant' | 'multiModel'>): string {
  return spec.multiModel ? `multi-model server of ${spec.pipeline}` : `model server ${spec.pipeline}/${spec.group}/${spec.variant}`;
}

/**
 * Where model servers listen, and where the router, readiness probes, replay and integration tests
 * reach them: loopback only, so the router (with its token, capture and metrics) is the one way in
 * from the network. Containers of the docker backend share the host's network, so this is the
 * host's loopback for them too.
 */
export const MODEL_SERVER_HOST = '127.0.0.1';

/** The environment every model server gets, on any backend. */
export function serverEnv(spec: ServerSpec, modelDir: string): Record<string, string> {
  return {
    HOST: MODEL_SERVER_HOST,
    PORT: String(spec.port),
    ...modelEnv(spec, modelDir),
    MLP_SERVER_ID: spec.serverId,
  };
}

/** Where a serving image finds the model: SageMaker unpacks ModelDataUrl there; the docker backend mounts the version there. */
export const IMAGE_MODEL_DIR = '/opt/ml/model';
/** Where a serving image carries the pipeline folder, which its `serve` runs MLP_SERVE_COMMAND in (docs/serving.md, "The serving image"). */
export const IMAGE_CODE_DIR = '/opt/ml/code';

/**
 * The environment of a serving image, the same on the docker backend and as a SageMaker Model's
 * PrimaryContainer.Environment: `serve.command` and who the server is. Not HOST and PORT (SageMaker
 * calls 0.0.0.0:8080; the docker backend adds its own) nor MLP_SERVER_ID (mlpd's bookkeeping of its own
 * containers).
 */
export function servingImageEnv(v: {
  pipeline: string;
  group: string;
  variant: string;
  command: string;
  multiModel?: true;
}): Record<string, string> {
  return { MLP_SERVE_COMMAND: v.command, ...modelEnv(v, IMAGE_MODEL_DIR) };
}

/** A multi-model server serves no one group or version: it learns its models from load requests. */
function modelEnv(v: { pipeline: string; group: string; variant: string; multiModel?: true }, modelDir: string): Record<string, string> {
  if (v.multiModel) return { MLP_MODEL_DIR: modelDir, SM_MODEL_DIR: modelDir, MLP_PIPELINE: v.pipeline, MLP_SERVE_MODE: 'multi-model' };
  return { MLP_MODEL_DIR: modelDir, SM_MODEL_DIR: modelDir, MLP_GROUP: v.group, MLP_PIPELINE: v.pipeline, MLP_VARIANT: v.variant };
}

/**
 * The local backend: `serve.command` as a child process in the pipeline folder, in its own process group
 * (spawned directly when the command needs no shell, else under `/bin/sh -c`), from the spawner's thread.
 */
export function createLocalServerBackend(
  opts: {
    ledger?: ChildLedger;
    spawner?: Spawner;
    /** The CPU priority of a server until it answers /ping (`serving.starting_nice`, asked at each start); absent: the daemon's. */
    startingNice?: () => number;
    /** A warning about a pipeline's server that belongs in its log (a `serve.command` that starts through a shell script on PATH). */
    warn?: (pipeline: string, message: string) => void;
  } = {},
): ServerBackend {
  const ledger = opts.ledger ?? UNRECORDED;
  let spawner = opts.spawner;
  // Looked up and said once per program name, in the log of the first pipeline to start it: a fleet's
  // thousand servers all start `python3`, and a thousand warnings would bury everything else.
  const looked = new Set<string>();
  const warnIfShim = (pipeline: string, argv: string[] | null) => {
    if (!opts.warn || !argv || looked.has(argv[0]!)) return;
    const program = argv[0]!;
    looked.add(program);
    const found = shellScriptOnPath(program, process.env.PATH ?? '');
    if (found) opts.warn(pipeline, shimWarning(program, found));
  };
  return {
    kind: 'local',
    async start(spec, onLine) {
      const tail: string[] = [];
      const out = lineSplitter((l) => onLine('stdout', l), tail);
      const err = lineSplitter((l) => onLine('stderr', l), tail);
      const record = ledger.process(serverPurpose(spec));
      const direct = directArgv(spec.command);
      warnIfShim(spec.pipeline, direct);
      const argv = direct ?? ['/bin/sh', '-c', spec.command];
      const spawning = (spawner ??= createSpawner());
      const startingNice = opts.startingNice?.() ?? 0;
      const child = spawning.spawn(
        {
          file: argv[0]!,
          args: argv.slice(1),
          cwd: spec.pipelineDir,
          env: { ...serverEnv(spec, spec.modelDir), PYTHONUNBUFFERED: '1', ...record.env },
          // Its session's priority: a process's own nice cannot be given back without privileges, a session's can.
          ...(startingNice > 0 ? { sessionNice: startingNice } : {}),
        },
        (stream, chunk) => (stream === 'stdout' ? out : err).write(chunk),
      );
      // 'close' comes when every process holding its output has ended: the whole group, not only the first process.
      let over = false;
      const closed = child.closed.then(() => {
        over = true;
        record.ended();
      });
      const exited = child.exited.then((e) => {
        out.flush();
        err.flush();
        if (e.error)
          tail.push(
            e.error.code === 'ENOENT'
              ? `cannot start: '${argv[0]}' was not found (serve.command; PATH is the daemon's)`
              : `cannot start: ${e.error.message}`,
          );
        return { code: e.code, signal: e.signal };
      });
      const pid = await child.pid;
      record.spawned(pid);
      const signalGroup = (signal: NodeJS.Signals) => {
        try {
          if (pid !== undefined) process.kill(-pid, signal);
        } catch {
          // already gone
        }
      };
      return {
        handle: `pid:${pid}`,
        exited,
        tail: () => [...tail],
        async stop(graceMs) {
          if (over) return;
          signalGroup('SIGTERM');
          const timer = setTimeout(() => signalGroup('SIGKILL'), graceMs);
          await closed;
          clearTimeout(timer);
        },
        live() {
          if (startingNice > 0 && pid !== undefined && !over) spawning.setSessionNice(pid, 0);
        },
      };
    },
  };
}
