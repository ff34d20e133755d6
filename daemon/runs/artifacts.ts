/**
 * The artifact store on this machine: what `train` left in the model dir becomes version vN of
 * (pipeline, group), copied to `<data dir>/artifacts/<pipeline>/<group>/vN/` (each name one path
 * segment inside the data dir, data-paths.ts).
 */
import { cpSync, existsSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { inside, pathSegment } from '../data-paths.js';
import type { Store } from '../store/db.js';
import type { ModelVersion } from '../store/model-versions.js';

/** Files a training step may write with its metrics, looked up in this order. */
const METRICS_FILES = ['metrics.json'];

export function artifactDir(dataDir: string, pipeline: string, group: string, version: number) {
  return inside(groupArtifacts(dataDir, pipeline, group), `v${version}`);
}

/** Every version of every group of the pipeline is below it: what a multi-model server of the pipeline can load. */
export function pipelineArtifactsDir(dataDir: string, pipeline: string) {
  return inside(dataDir, 'artifacts', pathSegment(pipeline));
}

function groupArtifacts(dataDir: string, pipeline: string, group: string) {
  return inside(pipelineArtifactsDir(dataDir, pipeline), pathSegment(group));
}

/**
 * Versions a trained model. The copy is made first under a temporary name, then renamed into
 * place inside the transaction that numbers the version, so a crash leaves either no version or
 * a complete one.
 */
export function registerModelVersion(opts: {
  store: Store;
  dataDir: string;
  pipeline: string;
  group: string;
  runId: string;
  gitCommit: string | null;
  modelDir: string;
  outputDir: string;
  /** Where the model lives elsewhere too (cloud: the S3 URI); the local copy is kept either way. */
  remoteUri?: string;
}): ModelVersion {
  if (!existsSync(opts.modelDir) || readdirSync(opts.modelDir).length === 0) {
    throw new Error(`train succeeded but wrote nothing to MLP_MODEL_DIR (${opts.modelDir}): save the model there`);
  }
  const incoming = inside(groupArtifacts(opts.dataDir, opts.pipeline, opts.group), `.incoming-${pathSegment(opts.runId)}`);
  rmSync(incoming, { recursive: true, force: true });
  cpSync(opts.modelDir, incoming, { recursive: true });
  try {
    return opts.store.modelVersions.create({
      pipeline: opts.pipeline,
      group: opts.group,
      runId: opts.runId,
      gitCommit: opts.gitCommit,
      metrics: readMetrics(opts.modelDir, opts.outputDir),
      artifactUri: (version) => {
        const dir = artifactDir(opts.dataDir, opts.pipeline, opts.group, version);
        renameSync(incoming, dir);
        return opts.remoteUri ?? dir;
      },
    });
  } finally {
    rmSync(incoming, { recursive: true, force: true });
  }
}

function readMetrics(...dirs: string[]): Record<string, unknown> | null {
  for (const dir of dirs) {
    for (const name of METRICS_FILES) {
      const file = join(dir, name);
      if (!existsSync(file)) continue;
      try {
        const value = JSON.parse(readFileSync(file, 'utf8')) as unknown;
        if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
      } catch {
        // not JSON: the model is still versioned, without metrics
      }
    }
  }
  return null;
}
