/**
 * `mlp export airflow <pipeline ...|--all> [-o DIR] [--check] [--json]`: one Airflow DAG file per
 * pipeline (daemon/export/airflow-dag.ts), written only when its bytes change; `--check` writes
 * nothing and exits 1 naming every file that is missing or stale, for a CI step in the team repo.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseCommandLine } from '../../shared/args.js';
import { formatProblem } from '../../shared/config/problems.js';
import { MlpError, usageError } from '../../shared/errors.js';
import { findRepoRoot, loadRepo, type LoadedPipeline } from '../../shared/repo/discover.js';
import { MLP_VERSION } from '../../shared/version.js';
import { dagFileName, GENERATED_MARK, renderAirflowDag } from '../export/airflow-dag.js';
import { git } from '../repo/git.js';
import { EXPORT_SUMMARY, EXPORT_USAGE } from './run-usage.js';

type FileStatus = 'written' | 'unchanged' | 'missing' | 'stale' | 'orphaned';

export async function exportCommand(args: string[]): Promise<number> {
  const [target, ...rest] = args;
  if (target === '--help' || target === '-h') {
    console.log(`${EXPORT_USAGE}\n\n${EXPORT_SUMMARY}.\n\n${HELP}`);
    return 0;
  }
  if (target === undefined) throw usageError(`mlp export: name what to export to (usage: ${EXPORT_USAGE})`);
  if (target !== 'airflow') throw usageError(`mlp export: unknown target '${target}'; the only one is 'airflow' (usage: ${EXPORT_USAGE})`);
  const { values, positionals } = parseCommandLine('mlp export airflow', rest, {
    all: { type: 'boolean' },
    output: { type: 'string', short: 'o' },
    check: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (values.help) {
    console.log(`${EXPORT_USAGE}\n\n${EXPORT_SUMMARY}.\n\n${HELP}`);
    return 0;
  }
  if (values.all && positionals.length)
    throw usageError(`mlp export airflow: name pipelines or pass --all, not both (usage: ${EXPORT_USAGE})`);
  if (!values.all && positionals.length === 0)
    throw usageError(`mlp export airflow: name at least one pipeline, or pass --all (usage: ${EXPORT_USAGE})`);

  const cwd = process.cwd();
  const root = findRepoRoot(cwd);
  const load = loadRepo(root);
  const pipelines = choose(load, positionals, values.all === true, cwd);
  const outDir = resolve(cwd, values.output ?? 'dags');
  const shownOut = relative(root, outDir) || '.';

  const results: { pipeline: string | null; file: string; status: FileStatus }[] = [];
  const notes: string[] = [];
  for (const p of pipelines) {
    if (p.config.pipeline.schedule && p.config.pipeline.orchestrator === 'mlpd') {
      notes.push(
        `${p.name}: mlpd schedules it too; once its DAG is deployed, set 'orchestrator: airflow' in ${relative(cwd, p.file)} so it is not trained twice`,
      );
    }
    const configFiles = [relative(root, p.file), ...(existsSync(load.repoConfigFile) ? [relative(root, load.repoConfigFile)] : [])];
    const text = renderAirflowDag(p.config, {
      dir: relative(root, p.dir) || '.',
      configFiles,
      ...(await provenance(root, configFiles)),
      regenerate: `mlp export airflow ${p.name} -o ${shownOut} (in the repo root)`,
      mlpVersion: MLP_VERSION,
    });
    const file = join(outDir, dagFileName(p.name));
    const before = existsSync(file) ? readFileSync(file, 'utf8') : null;
    let status: FileStatus;
    if (before === text) status = 'unchanged';
    else if (values.check) status = before === null ? 'missing' : 'stale';
    else {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(`${file}.tmp`, text); // renamed into place: Airflow's parser never reads half a file
      renameSync(`${file}.tmp`, file);
      status = 'written';
    }
    results.push({ pipeline: p.name, file: relative(cwd, file), status });
  }
  if (values.all) {
    const expected = new Set(pipelines.map((p) => dagFileName(p.name)));
    for (const name of existsSync(outDir) ? readdirSync(outDir).sort() : []) {
      if (expected.has(name) || !name.endsWith('.py')) continue;
      if (readFileSync(join(outDir, name), 'utf8').startsWith(GENERATED_MARK))
        results.push({ pipeline: null, file: relative(cwd, join(outDir, name)), status: 'orphaned' });
    }
  }

  const bad = results.filter((r) => r.status === 'missing' || r.status === 'stale' || r.status === 'orphaned');
  if (values.json) {
    console.log(
      JSON.stringify({ dir: relative(cwd, outDir) || '.', check: values.check === true, ok: bad.length === 0, files: results, notes }),
    );
  } else {
    for (const note of notes) console.error(`note: ${note}`);
    for (const r of results) console.log(`${r.status.padEnd(9)} ${r.file}${NOTES[r.status]}`);
    if (values.check && bad.length) {
      console.error(
        `mlp export airflow: ${bad.length} DAG file${bad.length === 1 ? ' is' : 's are'} not up to date: run ${regenerateAll(positionals, values.all === true, shownOut)}`,
      );
    }
  }
  return bad.length ? 1 : 0;
}

const HELP = `Each DAG discovers the groups at run time, runs every step per group with
\`mlp run <step> --cloud\` (SageMaker jobs), then hands the trained versions to mlpd's gated rollout
and fails when that ends blocked, rolled back or failed. Files are named mlp_<pipeline>.py and only
rewritten when their content changes; the same config and mlp version give the same bytes.
  -o DIR     where the DAG files go (default: ./dags)
  --check    write nothing; exit 1 naming each file that is missing or stale (a CI step)
  --all      every pipeline of the repo; also reports generated files of pipelines that are gone
Setup on the Airflow side (Variables, Connections, credentials): docs/airflow.md.`;

const NOTES: Record<FileStatus, string> = {
  written: '',
  unchanged: '',
  missing: ': not generated yet',
  stale: ': differs from what the config gives now',
  orphaned: ': generated for a pipeline that is no longer in the repo; delete it',
};

function regenerateAll(names: string[], all: boolean, out: string) {
  return `mlp export airflow ${all ? '--all' : names.join(' ')} -o ${out}`;
}

function choose(load: ReturnType<typeof loadRepo>, names: string[], all: boolean, cwd: string): LoadedPipeline[] {
  const invalid = (file: string) => load.problems.filter((p) => p.file === file || p.file === load.repoConfigFile);
  const refuse = (problems: ReturnType<typeof invalid>): never => {
    throw new MlpError(
      'invalid_config',
      `cannot export an invalid config (mlp validate shows the same):\n${problems.map((p) => formatProblem(p, cwd)).join('\n')}`,
    );
  };
  if (all) {
    if (load.problems.length) refuse(load.problems);
    if (load.pipelines.length === 0) throw new MlpError('not_found', `no pipelines in ${load.root}`);
    return [...load.pipelines].sort((a, b) => a.name.localeCompare(b.name));
  }
  return [...new Set(names)].map((name) => {
    const p = load.pipelines.find((x) => x.name === name);
    if (!p) {
      const known = load.pipelines.map((x) => x.name);
      throw usageError(
        `mlp export airflow: no pipeline named '${name}' in ${load.root}${known.length ? ` (pipelines: ${known.join(', ')})` : ''}`,
      );
    }
    if (invalid(p.file).length) refuse(invalid(p.file));
    return p;
  });
}

/** The last commit that changed the config files, and whether they differ from it now. */
async function provenance(root: string, files: string[]): Promise<{ commit: string | null; dirty: boolean }> {
  try {
    const commit = (await git(root, 'log', '-1', '--format=%H', '--', ...files)) || null;
    const dirty = (await git(root, 'status', '--porcelain', '--', ...files)) !== '';
    return { commit, dirty: commit !== null && dirty };
  } catch {
    return { commit: null, dirty: false };
  }
}
