/**
 * One step, run once for one group, somewhere: on this machine, in a container, or on SageMaker.
 * Every executor honours the same contract (docs/runs.md, "The step contract"), so the data scientist's code cannot tell
 * where it runs except by the paths it is given:
 *
 * - working directory: the pipeline folder (or a copy of it);
 * - environment: MLP_GROUP, MLP_RUN_ID, MLP_MODEL_DIR (also SM_MODEL_DIR), MLP_INPUT_DIR, MLP_OUTPUT_DIR,
 *   plus `env` from the spec;
 * - verdict: exit code 0 is success; otherwise the exit code and the last output lines explain it.
 */

export type ExecutorKind = 'local' | 'docker' | 'cloud';

export interface StepSpec {
  pipeline: string;
  /** Absolute path of the pipeline folder (holds pipeline.yaml and the model code). */
  pipelineDir: string;
  step: string;
  /** Shell command line, run with `/bin/sh -c`. */
  command: string;
  group: string;
  runId: string;
  /** The step is killed (and fails) after this long. */
  timeoutMs: number;
  /** Is this the training step (SageMaker: a training job, not a processing job)? */
  isTrain: boolean;
  /** Host folders the runner created for this step; a container or job maps them to its own paths. */
  dirs: { model: string; input: string; output: string };
  /** Container image (docker, cloud); undefined = build from the pipeline's Dockerfile (docker) . */
  image?: string;
  /** SageMaker instance type (cloud). */
  instanceType: string;
  /** Extra environment for the step, on top of the contract. */
  env: Record<string, string>;
}

export type StepStatus = 'succeeded' | 'failed' | 'timed_out' | 'cancelled';

export interface StepOutcome {
  status: StepStatus;
  exitCode: number | null;
  /** Why it failed, in one sentence a data scientist can act on; null on success. */
  reason: string | null;
  /** The last lines of output (at most TAIL_LINES), for the failure message. */
  tail: string[];
  /** Where the model landed when it is not `dirs.model` (cloud: the S3 URI of model.tar.gz). */
  artifactUri?: string;
}

export interface StepIO {
  /** Every output line as it is printed, without the newline. */
  onLine(stream: 'stdout' | 'stderr', line: string): void;
  /** Cancellation: the executor stops the step and resolves with status 'cancelled'. */
  signal: AbortSignal;
}

export interface Executor {
  readonly kind: ExecutorKind;
  run(spec: StepSpec, io: StepIO): Promise<StepOutcome>;
}

/** How many output lines a failed step's reason carries. */
export const TAIL_LINES = 20;

/** The contract's environment for paths as the step sees them. */
export function contractEnv(
  spec: Pick<StepSpec, 'group' | 'runId' | 'env'>,
  paths: { model: string; input: string; output: string },
): Record<string, string> {
  return {
    ...spec.env,
    MLP_GROUP: spec.group,
    MLP_RUN_ID: spec.runId,
    MLP_MODEL_DIR: paths.model,
    SM_MODEL_DIR: paths.model,
    MLP_INPUT_DIR: paths.input,
    MLP_OUTPUT_DIR: paths.output,
  };
}

/**
 * Splits a byte stream into lines and keeps the last TAIL_LINES in `tail` (pass one array to the
 * stdout and stderr splitters to keep the interleaved tail); `flush` emits a final partial line.
 */
export function lineSplitter(emit: (line: string) => void, tail: string[] = []) {
  let partial = '';
  const push = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    emit(line);
  };
  return {
    write(chunk: Buffer | string) {
      const text = partial + chunk.toString();
      const lines = text.split(/\r?\n/);
      partial = lines.pop()!;
      for (const line of lines) push(line);
    },
    flush() {
      if (partial) push(partial);
      partial = '';
    },
    tail,
  };
}

/** The failure reason from an exit code and the output's last lines. */
export function failureReason(what: string, exitCode: number | null, signal: string | null, tail: readonly string[]): string {
  const how = exitCode !== null ? `exited with code ${exitCode}` : `was killed by ${signal ?? 'a signal'}`;
  const last = tail.filter((l) => l.trim()).at(-1);
  return last ? `${what} ${how}: ${last.trim()}` : `${what} ${how} (it printed nothing)`;
}
