/**
 * `mlp run <step> (--local|--docker|--cloud) [--group G] [--pipeline NAME|DIR]`: one step of a
 * pipeline, right here, without a daemon — the data scientist's inner loop. The run is recorded in
 * the data dir like the daemon's (history, logs, model versions), so `mlp run train` produces a
 * version the daemon can roll out.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseCommandLine } from '../../shared/args.js';
import { formatProblem } from '../../shared/config/problems.js';
import { formatDuration } from '../../shared/duration.js';
import { MlpError, usageError } from '../../shared/errors.js';
import { resolveDataDir } from '../../shared/paths.js';
import { findRepoRoot, loadRepo, PIPELINE_FILE, type LoadedPipeline } from '../../shared/repo/discover.js';
import type { ExecutorKind, StepOutcome } from '../executors/executor.js';
import { createExecutorFactory } from '../executors/factory.js';
import { createLogWriter } from '../log-writer.js';
import { headCommit } from '../repo/git.js';
import { moveLegacyGroupFolders } from '../runs/legacy-folders.js';
import { executeRun } from '../runs/runner.js';
import { openStore } from '../store/db.js';
import { groupNameProblem, showValue } from '../warehouse/group-names.js';
import { pipelineGroups } from '../warehouse/groups.js';

import { RUN_USAGE as USAGE } from './run-usage.js';

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parseCommandLine('mlp run', args, {
    local: { type: 'boolean' },
    docker: { type: 'boolean' },
    cloud: { type: 'boolean' },
    group: { type: 'string', multiple: true },
    pipeline: { type: 'string' },
    'data-dir': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    console.log(`${USAGE}

Runs the step once per group (--group, repeatable, skips group discovery), in the pipeline folder,
with MLP_GROUP, MLP_RUN_ID, MLP_MODEL_DIR (= SM_MODEL_DIR), MLP_INPUT_DIR and MLP_OUTPUT_DIR set.
  --local    a child process on this machine
  --docker   in the pipeline's image (or one built from its Dockerfile), SageMaker's paths
  --cloud    a SageMaker training job (train) or processing job (other steps)
(mlpd runs a pipeline's steps on its training.backend; here the flag decides.)
Without --pipeline, the pipeline is the one whose folder you are in. What train writes to
MLP_MODEL_DIR becomes the group's next model version. --data-dir (default: $MLP_DATA_DIR, else
~/.mlp) is where runs, logs and versions are recorded. Exit 0 when every group succeeded, else 1.`);
    return 0;
  }
  const kinds = (['local', 'docker', 'cloud'] as const).filter((k) => values[k]);
  if (kinds.length !== 1) throw usageError(`mlp run: choose exactly one of --local, --docker, --cloud (usage: ${USAGE})`);
  const kind: ExecutorKind = kinds[0]!;
  const stepName = positionals[0];
  if (!stepName || positionals.length > 1) throw usageError(`mlp run: name one step (usage: ${USAGE})`);

  const { pipeline, root, repo } = findPipeline(values.pipeline, process.cwd());
  const steps = pipeline.config.pipeline.steps.map((s) => s.name);
  if (!steps.includes(stepName)) {
    throw usageError(`mlp run: pipeline '${pipeline.name}' has no step '${stepName}' (steps: ${steps.join(', ')})`);
  }
  for (const group of values.group ?? []) {
    const problem = groupNameProblem(group);
    if (problem) throw usageError(`mlp run: --group ${showValue(group)}: ${problem}`);
  }
  const groups = values.group?.length ? values.group : await groupsOf(pipeline, repo, root);
  const executor = createExecutorFactory({ repoConfig: () => repo }).get(kind);

  const say = (text: string) => process.stderr.write(text + '\n');
  const dataDir = resolveDataDir(values['data-dir']);
  const store = openStore(dataDir);
  for (const line of moveLegacyGroupFolders(dataDir)) say(`mlp run: ${line}`);
  const logs = createLogWriter(store);
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write('\nmlp run: cancelling (Ctrl-C again to force)\n');
    process.off('SIGINT', onSigint);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  const json = values.json === true;
  try {
    const gitCommit = await headCommit(root);
    // Created running, in one transaction: a daemon sharing this data dir (an Airflow worker's
    // `mlp run` against mlpd's) must never see the run queued, or its queue would start it too.
    const record = store.transaction(() => {
      const { run } = store.runs.enqueue({ pipeline: pipeline.name, trigger: 'manual', reason: `mlp run ${stepName} --${kind}` });
      store.runs.setStatus(run.id, 'running', { gitCommit });
      return run;
    });
    say(
      `${pipeline.name}: ${stepName} --${kind} for ${groups.length} group${groups.length === 1 ? '' : 's'} (${groups.join(', ')}), run ${record.id}`,
    );
    const prefix = groups.length > 1;
    let done = 0;
    const result = await executeRun(
      { runId: record.id, pipeline, groups, only: [stepName], executor, gitCommit },
      { store, dataDir, logs },
      {
        stepStarted: (group) => say(`▶ ${group}: ${stepName} started`),
        line: (group, _step, stream, line) => {
          const out = json || stream === 'stderr' ? process.stderr : process.stdout;
          out.write(prefix ? `${group} | ${line}\n` : `${line}\n`);
        },
        stepFinished: (group, _step, outcome, ms) => {
          done++;
          say(
            `${mark(outcome)} ${group}: ${stepName} ${outcome.status.replace('_', ' ')} in ${formatDuration(ms)} [${done}/${groups.length} groups]` +
              (outcome.reason ? `: ${outcome.reason}` : ''),
          );
        },
        versioned: (v) => say(`  ${v.group}: model version v${v.version} (${v.artifactUri})`),
      },
      controller.signal,
    );
    if (json) {
      console.log(JSON.stringify({ runId: record.id, pipeline: pipeline.name, step: stepName, executor: kind, ...result }));
    } else {
      say(result.status === 'succeeded' ? `${stepName} succeeded for every group` : `${stepName} ${result.status}: ${result.reason}`);
    }
    return result.status === 'succeeded' ? 0 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    logs.flush();
    store.close();
  }
}

const mark = (o: StepOutcome) => (o.status === 'succeeded' ? '✔' : '✖');

/** The pipeline named by --pipeline (a folder, a pipeline.yaml, or a name), else the folder we are in. */
export function findPipeline(flag: string | undefined, cwd: string, command = 'mlp run') {
  let file: string | undefined;
  if (flag !== undefined) {
    const path = resolve(cwd, flag);
    if (existsSync(path)) file = statSync(path).isDirectory() ? join(path, PIPELINE_FILE) : path;
    if (file && !existsSync(file)) throw usageError(`${command}: ${relative(cwd, path) || '.'} holds no ${PIPELINE_FILE}`);
  } else {
    for (let dir = cwd; ; dir = dirname(dir)) {
      if (existsSync(join(dir, PIPELINE_FILE))) {
        file = join(dir, PIPELINE_FILE);
        break;
      }
      if (dirname(dir) === dir || existsSync(join(dir, 'mlp.yaml')) || existsSync(join(dir, '.git'))) break;
    }
    if (!file) throw usageError(`${command}: not inside a pipeline folder: cd into one or pass --pipeline NAME|DIR`);
  }

  const root = findRepoRoot(file ? dirname(file) : cwd);
  const load = loadRepo(root);
  const problemsOf = (f: string) => load.problems.filter((p) => p.file === f || p.file === load.repoConfigFile);
  let pipeline: LoadedPipeline | undefined;
  if (file) {
    pipeline = load.pipelines.find((p) => p.file === resolve(file));
    if (!pipeline) {
      const problems = problemsOf(resolve(file));
      if (problems.length === 0) throw usageError(`${command}: ${file} is not below the repo root ${root}`);
      throw new MlpError('invalid_config', `the pipeline config is invalid:\n${problems.map((p) => formatProblem(p, cwd)).join('\n')}`);
    }
  } else {
    pipeline = load.pipelines.find((p) => p.name === flag);
    if (!pipeline) {
      const names = load.pipelines.map((p) => p.name);
      throw usageError(`${command}: no pipeline named '${flag}' in ${root}${names.length ? ` (pipelines: ${names.join(', ')})` : ''}`);
    }
  }
  if (problemsOf(pipeline.file).length) {
    throw new MlpError(
      'invalid_config',
      `mlp.yaml is invalid:\n${problemsOf(pipeline.file)
        .map((p) => formatProblem(p, cwd))
        .join('\n')}`,
    );
  }
  return { pipeline, root, repo: load.repoConfig };
}

/** The discovered groups; values refused as groups are reported, and the others run. */
async function groupsOf(pipeline: LoadedPipeline, repo: ReturnType<typeof loadRepo>['repoConfig'], root: string): Promise<string[]> {
  const found = await pipelineGroups(pipeline.config, repo?.warehouses ?? {}, root);
  for (const line of found.refused) process.stderr.write(`mlp run: ${line}\n`);
  if (found.groups.length === 0) {
    const why = found.refused.length ? 'no usable rows' : 'no rows';
    throw new MlpError(
      'check_failed',
      `groups.source ${pipeline.config.pipeline.groups.source} has ${why}: nothing to run (pass --group G to run one anyway)`,
    );
  }
  return found.groups;
}
