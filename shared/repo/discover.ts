/**
 * Finding a repo's config files and loading them: the only part of config handling that touches
 * the file system (reads only). `mlp validate`, `mlp run` and the daemon all load through here,
 * so they agree on what is valid.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parsePipelineConfig, parseRepoConfig } from '../config/load.js';
import { sortProblems, type ConfigProblem } from '../config/problems.js';
import { RepoConfigSchema, type PipelineConfig, type RepoConfig } from '../config/schema.js';
import { usageError } from '../errors.js';
import { crossFileProblems, type ParsedPipelineFile, type RepoConfigFile } from './rules.js';

export const REPO_CONFIG_FILE = 'mlp.yaml';
export const PIPELINE_FILE = 'pipeline.yaml';

/** Folders never searched for pipelines, besides every dot-folder (.git, .venv, ...). */
const SKIPPED_FOLDERS = new Set(['node_modules', 'dist']);

export interface LoadedPipeline {
  /** `pipeline.name`. */
  name: string;
  /** Absolute folder: the working directory of its steps. */
  dir: string;
  /** Absolute path of its pipeline.yaml. */
  file: string;
  config: PipelineConfig;
  /** sha256 (hex) of the file's text: a changed hash is a changed config. */
  hash: string;
}

export interface RepoLoad {
  /** Absolute. */
  root: string;
  /** Where mlp.yaml is, or would be (absolute). */
  repoConfigFile: string;
  /** The repo config (defaults when there is no mlp.yaml); null when mlp.yaml is invalid. */
  repoConfig: RepoConfig | null;
  /** The valid pipelines, by path. A file with any problem is left out. */
  pipelines: LoadedPipeline[];
  /** Every config file read (absolute), mlp.yaml first when it exists. */
  files: string[];
  /** Every problem of every file, absolute file names, sorted. */
  problems: ConfigProblem[];
}

export interface Validation {
  files: string[];
  pipelines: LoadedPipeline[];
  problems: ConfigProblem[];
}

/**
 * The repo root for a folder: the nearest folder at or above it holding mlp.yaml; the search
 * stops at the git root (a folder with `.git`), which is the root when no mlp.yaml is found;
 * outside git and without mlp.yaml, `cwd` itself.
 */
export function findRepoRoot(cwd: string): string {
  const start = resolve(cwd);
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, REPO_CONFIG_FILE)) || existsSync(join(dir, '.git'))) return dir;
    if (dirname(dir) === dir) return start;
  }
}

/** Every pipeline.yaml at or below `root` (absolute, sorted); folders that cannot be read are skipped. */
export function findPipelineFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      // Symlinked folders are not followed (isDirectory() is false for them): no cycles, no escaping the repo.
      if (e.isDirectory() && !e.name.startsWith('.') && !SKIPPED_FOLDERS.has(e.name)) walk(join(dir, e.name));
      else if (e.isFile() && e.name === PIPELINE_FILE) found.push(join(dir, e.name));
    }
  };
  walk(resolve(root));
  return found.sort();
}

/** mlp.yaml and every pipeline.yaml of the repo at `root`, validated together. */
export function loadRepo(root: string): RepoLoad {
  const absRoot = resolve(root);
  return loadFiles(absRoot, readRepoConfig(absRoot), findPipelineFiles(absRoot));
}

/**
 * `mlp validate [PATH ...]`: each path is a pipeline file (any name; `mlp.yaml` is checked as a
 * repo config) or a folder searched for pipeline.yaml; no path means the repo around `cwd`. Files
 * are checked with their repo's mlp.yaml; names are compared among the files checked together.
 * Throws a usage error for a path that does not exist.
 */
export function validatePaths(paths: readonly string[], cwd: string): Validation {
  if (paths.length === 0) {
    const { files, pipelines, problems } = loadRepo(findRepoRoot(cwd));
    return { files, pipelines, problems };
  }
  const byRoot = new Map<string, Set<string>>();
  const add = (root: string, file?: string) => {
    const files = byRoot.get(root) ?? new Set<string>();
    if (file !== undefined) files.add(file);
    byRoot.set(root, files);
  };
  for (const path of paths) {
    const abs = resolve(cwd, path);
    if (!existsSync(abs)) throw usageError(`mlp validate: no such file or folder: ${path}`);
    if (statSync(abs).isDirectory()) {
      if (existsSync(join(abs, REPO_CONFIG_FILE))) add(abs);
      for (const file of findPipelineFiles(abs)) add(findRepoRoot(dirname(file)), file);
    } else if (basename(abs) === REPO_CONFIG_FILE) {
      add(dirname(abs));
    } else {
      add(findRepoRoot(dirname(abs)), abs);
    }
  }
  const result: Validation = { files: [], pipelines: [], problems: [] };
  for (const [root, files] of [...byRoot].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const load = loadFiles(root, readRepoConfig(root), [...files].sort());
    result.files.push(...load.files);
    result.pipelines.push(...load.pipelines);
    result.problems.push(...load.problems);
  }
  return { ...result, problems: sortProblems(result.problems) };
}

interface RepoConfigRead extends RepoConfigFile {
  problems: ConfigProblem[];
}

function readRepoConfig(root: string): RepoConfigRead {
  const file = join(root, REPO_CONFIG_FILE);
  if (!existsSync(file)) return { file, exists: false, config: RepoConfigSchema.parse({}), problems: [] };
  const text = readText(file);
  if (typeof text !== 'string') return { file, exists: true, config: null, problems: [text] };
  const parsed = parseRepoConfig(text, file);
  return { file, exists: true, config: parsed.config ?? null, problems: parsed.problems };
}

function loadFiles(root: string, repo: RepoConfigRead, pipelineFiles: readonly string[]): RepoLoad {
  const problems: ConfigProblem[] = [...repo.problems];
  const parsed: (ParsedPipelineFile & { hash: string })[] = [];
  const defaults = repo.config?.defaults;
  for (const file of pipelineFiles) {
    const text = readText(file);
    if (typeof text !== 'string') {
      problems.push(text);
      continue;
    }
    const result = parsePipelineConfig(text, file, defaults ? { defaults } : {});
    problems.push(...result.problems);
    parsed.push({ file, parsed: result, hash: createHash('sha256').update(text).digest('hex') });
  }
  problems.push(...crossFileProblems(root, parsed, repo));
  const filesWithProblems = new Set(problems.map((p) => p.file));
  const pipelines: LoadedPipeline[] = [];
  for (const p of parsed) {
    const config = p.parsed.config;
    if (config && !filesWithProblems.has(p.file)) {
      pipelines.push({ name: config.pipeline.name, dir: dirname(p.file), file: p.file, config, hash: p.hash });
    }
  }
  return {
    root,
    repoConfigFile: repo.file,
    repoConfig: repo.config,
    pipelines,
    files: [...(repo.exists ? [repo.file] : []), ...pipelineFiles],
    problems: sortProblems(problems),
  };
}

/** The file's text, or the problem of not being able to read it. */
function readText(file: string): string | ConfigProblem {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    return { file, line: 1, col: 1, message: `cannot read the file: ${(err as Error).message}` };
  }
}
