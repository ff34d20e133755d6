/**
 * Rules no single config file can check: they compare pipelines with each other and with the
 * repo's mlp.yaml. Pure: the files are already parsed.
 */
import { relative } from 'node:path';
import type { ParsedConfig } from '../config/load.js';
import type { ConfigProblem } from '../config/problems.js';
import { parseGroupSource, type PipelineConfig, type RepoConfig } from '../config/schema.js';

export interface ParsedPipelineFile {
  /** Absolute path. */
  file: string;
  parsed: ParsedConfig<PipelineConfig>;
}

export interface RepoConfigFile {
  /** Where mlp.yaml is, or would be. */
  file: string;
  exists: boolean;
  /** Null when mlp.yaml is invalid: rules that need it are skipped rather than guessed. */
  config: RepoConfig | null;
}

interface ValidPipeline {
  file: string;
  parsed: ParsedConfig<PipelineConfig>;
  config: PipelineConfig;
}

/** Problems across files, each at the node of the pipeline file at fault. */
export function crossFileProblems(root: string, pipelines: readonly ParsedPipelineFile[], repo: RepoConfigFile): ConfigProblem[] {
  const valid: ValidPipeline[] = pipelines
    .flatMap((p) => (p.parsed.config ? [{ ...p, config: p.parsed.config }] : []))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const problems = duplicateNames(root, valid);
  // Without an mlp.yaml there is nothing to check references against: a pipeline folder on its
  // own (the reference config, a new pipeline being written) is valid, and the daemon reports a
  // missing connection when it needs one.
  const repoConfig = repo.exists ? repo.config : null;
  if (repoConfig) problems.push(...valid.flatMap((p) => undeclaredReferences(p, repoConfig)));
  return problems;
}

/** A pipeline name is an endpoint and a schedule key: the later file by path is the one reported. */
function duplicateNames(root: string, pipelines: readonly ValidPipeline[]): ConfigProblem[] {
  const firstFile = new Map<string, string>();
  const problems: ConfigProblem[] = [];
  for (const p of pipelines) {
    const name = p.config.pipeline.name;
    const other = firstFile.get(name);
    if (other === undefined) {
      firstFile.set(name, p.file);
    } else {
      const message = `pipeline name '${name}' is already used by ${relative(root, other) || other} (names must be unique in a repo)`;
      problems.push(p.parsed.problemAt(['pipeline', 'name'], message));
    }
  }
  return problems;
}

/** Connections must be declared in mlp.yaml (the daemon needs their URLs); SageMaker needs aws. */
function undeclaredReferences(p: ValidPipeline, repo: RepoConfig): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const where = 'in mlp.yaml';
  const checkConnection = (connection: string, path: readonly PropertyKey[]) => {
    if (!Object.hasOwn(repo.warehouses, connection)) {
      problems.push(p.parsed.problemAt(path, `connection '${connection}' is not declared: add it under warehouses ${where}`));
    }
  };
  const { groups, deployment } = p.config.pipeline;
  const source = groups.source === undefined ? undefined : parseGroupSource(groups.source);
  if (source) checkConnection(source.connection, ['pipeline', 'groups', 'source']);
  deployment.data_checks.forEach((check, i) => {
    if (check.connection !== undefined) checkConnection(check.connection, ['pipeline', 'deployment', 'data_checks', i, 'connection']);
  });
  if (deployment.backend === 'sagemaker' && repo.aws === undefined) {
    problems.push(
      p.parsed.problemAt(['pipeline', 'deployment', 'backend'], `backend 'sagemaker' needs an aws section (role_arn, bucket) ${where}`),
    );
  }
  // Only where training.backend says so: a sagemaker training backend that follows deployment.backend is reported above.
  if (p.config.pipeline.training.backend === 'sagemaker' && repo.aws === undefined) {
    problems.push(
      p.parsed.problemAt(
        ['pipeline', 'training', 'backend'],
        `training backend 'sagemaker' runs the steps as SageMaker jobs: it needs an aws section (role_arn, bucket) ${where}`,
      ),
    );
  }
  return problems;
}
