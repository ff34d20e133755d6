/**
 * `mlp run` as the command table lists it. Kept apart from the command itself so `mlp --help` and
 * `mlp status` do not load the executors (dockerode, the AWS SDK) just to print one line.
 */
import type { CommandSpec } from '../../shared/args.js';

export const RUN_USAGE = 'mlp run <step> (--local|--docker|--cloud) [--group G] [--pipeline NAME|DIR] [--json]';

export const runCommand: CommandSpec = {
  usage: RUN_USAGE,
  summary: 'run one step of a pipeline here, in Docker or on SageMaker, once per group; no daemon needed',
  run: async (args) => (await import('./run.js')).run(args),
};
