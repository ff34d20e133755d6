/**
 * The docker executor: the step runs in the pipeline's image (`image:`, else one built from the
 * pipeline's Dockerfile) through the Docker engine, with the paths a SageMaker container sees, so
 * `--docker` is the rehearsal for `--cloud`:
 *
 *   pipeline folder -> /opt/ml/code (working directory, read-write like a local run)
 *   dirs.model      -> /opt/ml/model
 *   dirs.input      -> /opt/ml/input/data
 *   dirs.output     -> /opt/ml/output/data
 *
 * Decisions:
 * - The container runs as the daemon's own uid:gid, so what the step writes into the model and
 *   output folders (and the pipeline folder) belongs to the daemon, which registers, moves and prunes
 *   it. A step must therefore not rely on being root or on a named user inside the image.
 * - Host networking: containers reach the warehouse, moto or a model server on 127.0.0.1 exactly
 *   like a local run (and the engine may run without a bridge, as in the test environment).
 * - An engine that cannot be reached is not the step's fault: `run` throws MlpError('unavailable')
 *   ("cannot reach the Docker engine at ...; is dockerd running?"), which the runner records as the
 *   step's failure reason. Everything the engine says no to (build error, unknown image, a container
 *   that cannot start) is a failed step with the engine's message.
 * - docker-init is PID 1 (reaps zombies, forwards SIGTERM); a timeout or cancel stops the container
 *   (SIGTERM, then SIGKILL after the grace period) and the container is removed in every case.
 *   Containers carry labels (mlp.pipeline, mlp.step, mlp.group, mlp.run) so leftovers of a daemon
 *   that died mid-step can be found.
 * - The limit (`timeoutMs`) covers building the image too: a hanging build is stopped like a hanging step.
 * - The folders are bind mounts, so the engine must run on this machine (DOCKER_HOST may name another
 *   socket, not another host).
 */
import Docker from 'dockerode';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Writable, type Duplex } from 'node:stream';
import { formatDuration } from '../../shared/duration.js';
import { MlpError } from '../../shared/errors.js';
import { UNRECORDED, type ChildLedger } from '../children/ledger.js';
import { contractEnv, failureReason, lineSplitter, type Executor, type StepIO, type StepOutcome, type StepSpec } from './executor.js';
import { testRunLabels } from '../test-run.js';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/** Where a step's folders appear inside its container (SageMaker's layout). */
export const CONTAINER_PATHS = {
  code: '/opt/ml/code',
  model: '/opt/ml/model',
  input: '/opt/ml/input/data',
  output: '/opt/ml/output/data',
} as const;

/** Labels on every step container; `mlp.run` holds the run id. */
export const LABEL = { pipeline: 'mlp.pipeline', step: 'mlp.step', group: 'mlp.group', run: 'mlp.run' } as const;

export interface DockerExecutorOptions {
  /** The engine's socket; default DOCKER_HOST, else /var/run/docker.sock. */
  socketPath?: string;
  /** How long a stopped step gets between SIGTERM and SIGKILL (rounded up to seconds). */
  killGraceMs?: number;
  /** Where the daemon records the containers it starts (to remove them after it was killed). */
  ledger?: ChildLedger;
}

/** The tag of the image built from a pipeline's Dockerfile. */
export function pipelineImageTag(pipeline: string): string {
  // Pipeline names are slugs; docker also forbids separators like '_-' and a trailing '-' or '_'.
  const repo = pipeline.replace(/[-_]+/g, (sep) => (/^(_|__|-+)$/.test(sep) ? sep : '-')).replace(/[-_]+$/, '');
  return `mlp/${repo}:latest`;
}

type Stopped = 'timed_out' | 'cancelled';

export function createDockerExecutor(opts: DockerExecutorOptions = {}): Executor {
  const docker = opts.socketPath ? new Docker({ socketPath: opts.socketPath }) : new Docker();
  const address = opts.socketPath ?? process.env.DOCKER_HOST ?? DEFAULT_DOCKER_SOCKET;
  const graceSeconds = Math.ceil((opts.killGraceMs ?? 5_000) / 1000);
  // Groups of one run start the same step at once; they share one build of the pipeline's image.
  const builds = new Map<string, Promise<ImageChoice>>();

  const unreachable = (err: unknown) =>
    new MlpError('unavailable', `cannot reach the Docker engine at ${address}: ${engineMessage(err)}; is dockerd running?`, { cause: err });

  return {
    kind: 'docker',
    async run(spec: StepSpec, io: StepIO): Promise<StepOutcome> {
      const what = `step '${spec.step}'`;
      if (io.signal.aborted) return { status: 'cancelled', exitCode: null, reason: `${what} was cancelled`, tail: [] };
      try {
        await docker.ping();
      } catch (err) {
        throw unreachable(err);
      }

      const limit = stopSwitch(spec.timeoutMs, io.signal);
      const stoppedOutcome = (why: Stopped, exitCode: number | null, tail: string[]): StepOutcome =>
        why === 'timed_out'
          ? {
              status: 'timed_out',
              exitCode,
              reason: `${what} ran longer than its limit of ${formatDuration(spec.timeoutMs)} and was stopped`,
              tail,
            }
          : { status: 'cancelled', exitCode, reason: `${what} was cancelled`, tail };
      try {
        let image: ImageChoice;
        if (spec.image !== undefined) {
          image = await ensureImage(docker, spec.image, io, limit.signal);
        } else {
          const key = `${spec.runId}\0${spec.pipelineDir}`;
          let build = builds.get(key);
          if (build) io.onLine('stdout', `using the image ${pipelineImageTag(spec.pipeline)} being built for this run`);
          else builds.set(key, (build = buildImage(docker, spec, io, limit.signal).finally(() => builds.delete(key))));
          image = await build;
        }
        if (limit.why) return stoppedOutcome(limit.why, null, image.tail);
        if ('failure' in image) return { status: 'failed', exitCode: null, reason: image.failure, tail: image.tail };
        return await runContainer(docker, spec, image.image, io, limit, graceSeconds, stoppedOutcome, opts.ledger ?? UNRECORDED);
      } catch (err) {
        if (isConnectionError(err)) throw unreachable(err);
        if (limit.why) return stoppedOutcome(limit.why, null, []);
        if (isEngineError(err))
          return { status: 'failed', exitCode: null, reason: `${what} could not run: ${engineMessage(err)}`, tail: [] };
        throw err;
      } finally {
        limit.dispose();
      }
    },
  };
}

export type ImageChoice = { image: string; tail: string[] } | { failure: string; tail: string[] };

/** The configured image, pulled when this engine does not have it. */
export async function ensureImage(docker: Docker, image: string, io: Pick<StepIO, 'onLine'>, signal: AbortSignal): Promise<ImageChoice> {
  try {
    await docker.getImage(image).inspect();
    return { image, tail: [] };
  } catch (err) {
    if (!isEngineError(err) || err.statusCode !== 404) throw err;
  }
  io.onLine('stdout', `pulling ${image}`);
  try {
    const stream = await docker.pull(image, { abortSignal: signal });
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (err: Error | null, events: { error?: string }[]) => {
        const failed = err?.message ?? events.find((e) => e.error)?.error;
        if (failed) reject(new Error(failed));
        else resolve();
      }),
    );
    return { image, tail: [] };
  } catch (err) {
    if (isConnectionError(err)) throw err;
    return {
      failure: `the image '${image}' is not on this machine and could not be pulled: ${engineMessage(err)} (build it here, or push it to a registry this machine can reach)`,
      tail: [],
    };
  }
}

/** Builds `mlp/<pipeline>:latest` from the pipeline folder's Dockerfile, streaming the build's output. */
export async function buildImage(
  docker: Docker,
  spec: Pick<StepSpec, 'pipeline' | 'pipelineDir'>,
  io: Pick<StepIO, 'onLine'>,
  signal: AbortSignal,
): Promise<ImageChoice> {
  const tail: string[] = [];
  if (!existsSync(join(spec.pipelineDir, 'Dockerfile'))) {
    return {
      failure: `pipeline '${spec.pipeline}' has no container image for --docker: set \`image:\` in its pipeline.yaml or add a Dockerfile to ${spec.pipelineDir}`,
      tail,
    };
  }
  const tag = pipelineImageTag(spec.pipeline);
  const lines = lineSplitter((l) => io.onLine('stdout', l), tail);
  io.onLine('stdout', `building ${tag} from ${join(spec.pipelineDir, 'Dockerfile')}`);
  const stream = await docker.buildImage({ context: spec.pipelineDir, src: contextFiles(spec.pipelineDir) }, {
    t: tag,
    rm: true,
    forcerm: true,
    labels: { [LABEL.pipeline]: spec.pipeline },
    abortSignal: signal,
  } as Docker.ImageBuildOptions);
  const error = await new Promise<string | null>((resolve, reject) => {
    let failed: string | null = null;
    docker.modem.followProgress(
      stream,
      (err: Error | null) => {
        lines.flush();
        if (err && !failed) reject(err);
        else resolve(failed);
      },
      (event: { stream?: string; error?: string }) => {
        if (event.stream) lines.write(event.stream);
        if (event.error) failed = event.error.trim();
      },
    );
  });
  if (error) return { failure: `building the image of pipeline '${spec.pipeline}' from its Dockerfile failed: ${error}`, tail };
  // Each changed build untags the previous one; without this, every code change would keep a full
  // copy of the image (vfs storage has no shared layers). Images still used by a container stay.
  await docker.pruneImages({ filters: { dangling: ['true'], label: [`${LABEL.pipeline}=${spec.pipeline}`] } }).catch(() => undefined);
  return { image: tag, tail };
}

/** Every file of the build context, relative to it (dockerode filters them with .dockerignore). */
function contextFiles(dir: string): string[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      if (name === '.git') continue;
      const p = join(d, name);
      if (lstatSync(p).isDirectory()) walk(p);
      else files.push(relative(dir, p));
    }
  };
  walk(dir);
  return files;
}

async function runContainer(
  docker: Docker,
  spec: StepSpec,
  image: string,
  io: StepIO,
  limit: StopSwitch,
  graceSeconds: number,
  stoppedOutcome: (why: Stopped, exitCode: number | null, tail: string[]) => StepOutcome,
  ledger: ChildLedger,
): Promise<StepOutcome> {
  const what = `step '${spec.step}'`;
  const record = ledger.container({
    what: `step '${spec.step}' of ${spec.pipeline}/${spec.group} (container)`,
    run: { id: spec.runId, step: spec.step, group: spec.group },
  });
  const env = { ...contractEnv(spec, CONTAINER_PATHS), PYTHONUNBUFFERED: '1' };
  const bind = (source: string, target: string) => ({ Type: 'bind' as const, Source: source, Target: target });
  const container = await docker
    .createContainer({
      Image: image,
      Entrypoint: ['/bin/sh', '-c'],
      Cmd: [spec.command],
      WorkingDir: CONTAINER_PATHS.code,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      User: `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
      Labels: {
        [LABEL.pipeline]: spec.pipeline,
        [LABEL.step]: spec.step,
        [LABEL.group]: spec.group,
        [LABEL.run]: spec.runId,
        ...record.labels,
        ...testRunLabels(),
      },
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      HostConfig: {
        NetworkMode: 'host',
        Init: true,
        Mounts: [
          bind(spec.pipelineDir, CONTAINER_PATHS.code),
          bind(spec.dirs.model, CONTAINER_PATHS.model),
          bind(spec.dirs.input, CONTAINER_PATHS.input),
          bind(spec.dirs.output, CONTAINER_PATHS.output),
        ],
      },
    })
    .catch((err: unknown) => {
      record.ended();
      throw err;
    });
  let attached: NodeJS.ReadWriteStream | undefined;
  try {
    const tail: string[] = [];
    const last = { stdout: { line: '', at: 0 }, stderr: { line: '', at: 0 } };
    const emit = (stream: 'stdout' | 'stderr') => (line: string) => {
      io.onLine(stream, line);
      if (line.trim()) last[stream] = { line, at: Date.now() };
    };
    const out = lineSplitter(emit('stdout'), tail);
    const err = lineSplitter(emit('stderr'), tail);
    const stream = (attached = await container.attach({ stream: true, stdout: true, stderr: true }));
    const drained = new Promise<void>((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', () => resolve());
    });
    docker.modem.demuxStream(stream, sink(out.write), sink(err.write));

    if (limit.why) return stoppedOutcome(limit.why, null, tail);
    try {
      await container.start();
    } catch (e) {
      if (!isEngineError(e)) throw e;
      return { status: 'failed', exitCode: null, reason: `${what} could not start in image '${image}': ${engineMessage(e)}`, tail };
    }
    limit.onStop(() => void container.stop({ t: graceSeconds }).catch(() => undefined));
    const { StatusCode: code } = (await container.wait()) as { StatusCode: number };
    // The last output can arrive just after the exit is reported.
    await Promise.race([drained, new Promise((r) => setTimeout(r, 2_000).unref())]);
    out.flush();
    err.flush();

    if (limit.why) return stoppedOutcome(limit.why, code, tail);
    if (code === 0) return { status: 'succeeded', exitCode: 0, reason: null, tail };
    const state = (await container.inspect()).State;
    if (state.OOMKilled)
      return { status: 'failed', exitCode: code, reason: `${what} ran out of memory and was killed by the kernel`, tail };
    return { status: 'failed', exitCode: code, reason: failureReason(what, code, null, explainingLine(last)), tail };
  } finally {
    // A container that could not be removed stays in the ledger: the next daemon removes it.
    await container.remove({ force: true, v: true }).then(
      () => record.ended(),
      () => undefined,
    );
    // The engine never ends the attach stream of a container stopped before it started (a limit or a
    // cancel during the slow create of a first run): its open socket would hold the process forever.
    (attached as Duplex | undefined)?.destroy();
  }
}

/** Lines of the two streams closer together than this may arrive in either order. */
const SAME_MOMENT_MS = 100;

/**
 * The line a failure reason quotes. The engine copies stdout and stderr separately, so an error
 * printed to stderr right after a line on stdout can arrive first (the tail's order is only
 * approximate); when the streams' last lines came at about the same moment, the error stream's
 * line is the one that explains the failure (tracebacks and logging go there).
 */
function explainingLine(last: Record<'stdout' | 'stderr', { line: string; at: number }>): string[] {
  const { stdout, stderr } = last;
  if (!stderr.line) return stdout.line ? [stdout.line] : [];
  if (!stdout.line) return [stderr.line];
  return [stdout.at > stderr.at + SAME_MOMENT_MS ? stdout.line : stderr.line];
}

const sink = (write: (chunk: Buffer) => void) =>
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      write(chunk);
      done();
    },
  });

interface StopSwitch {
  /** Why the step is being stopped, once it is. */
  readonly why: Stopped | undefined;
  /** Aborted when the step is stopped (for the build). */
  readonly signal: AbortSignal;
  /** Calls `fn` when the step is stopped (now, if it already is). */
  onStop(fn: () => void): void;
  dispose(): void;
}

/** The step's limit and its cancellation, as one switch. */
function stopSwitch(timeoutMs: number, cancel: AbortSignal): StopSwitch {
  const controller = new AbortController();
  let why: Stopped | undefined;
  const listeners: (() => void)[] = [];
  const stop = (reason: Stopped) => {
    if (why) return;
    why = reason;
    controller.abort();
    for (const fn of listeners.splice(0)) fn();
  };
  const timer = setTimeout(() => stop('timed_out'), timeoutMs);
  const onCancel = () => stop('cancelled');
  cancel.addEventListener('abort', onCancel, { once: true });
  return {
    get why() {
      return why;
    },
    signal: controller.signal,
    onStop(fn) {
      if (why) fn();
      else listeners.push(fn);
    },
    dispose() {
      clearTimeout(timer);
      cancel.removeEventListener('abort', onCancel);
      listeners.length = 0;
    },
  };
}

interface EngineError extends Error {
  statusCode: number;
  json?: { message?: string } | null;
}

/** An answer from the engine (4xx/5xx), as opposed to not reaching it. */
export function isEngineError(err: unknown): err is EngineError {
  return err instanceof Error && typeof (err as Partial<EngineError>).statusCode === 'number';
}

/** The socket is missing, refuses, or the engine went away mid-call. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    !isEngineError(err) &&
    typeof code === 'string' &&
    ['ENOENT', 'ECONNREFUSED', 'EACCES', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT'].includes(code)
  );
}

/** The engine's own words, without docker-modem's "(HTTP code 404) ..." wrapping. */
export function engineMessage(err: unknown): string {
  if (isEngineError(err) && err.json?.message) return err.json.message.trim();
  return err instanceof Error ? err.message : String(err);
}
