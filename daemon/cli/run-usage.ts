/**
 * The commands of `mlp` that use the daemon's machinery on this machine (`mlp run`, `mlp groups`,
 * `mlp export`), as the command table lists them. Kept apart from the commands themselves so
 * `mlp --help` and `mlp status` do not load the executors (dockerode, the AWS SDK) just to print a line.
 */
import type { CommandSpec } from '../../shared/args.js';

export const RUN_USAGE = 'mlp run <step> (--local|--docker|--cloud) [--group G] [--pipeline NAME|DIR] [--json]';
export const GROUPS_USAGE = 'mlp groups [--pipeline NAME|DIR] [--json]';
export const GROUPS_SUMMARY = "the pipeline's groups as discovered from the warehouse now; no daemon needed";
export const EXPORT_USAGE = 'mlp export airflow <pipeline ...|--all> [-o DIR] [--check] [--json]';
export const EXPORT_SUMMARY = 'write one Airflow DAG per pipeline (steps on SageMaker, rollout by mlpd); --check says which are stale';

export const runCommand: CommandSpec = {
  usage: RUN_USAGE,
  summary: 'run one step of a pipeline here, in Docker or on SageMaker, once per group; no daemon needed',
  run: async (args) => (await import('./run.js')).run(args),
};

export const groupsCommand: CommandSpec = {
  usage: GROUPS_USAGE,
  summary: GROUPS_SUMMARY,
  run: async (args) => (await import('./groups.js')).groups(args),
};

export const exportCommand: CommandSpec = {
  usage: EXPORT_USAGE,
  summary: EXPORT_SUMMARY,
  run: async (args) => (await import('./export-airflow.js')).exportCommand(args),
};
