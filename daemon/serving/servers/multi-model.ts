/**
 * Multi-model serving (`serve.mode: multi-model`, docs/serving.md "Multi-model serving"): one model server per
 * pipeline and backend hosts every live version of every group, through SageMaker's multi-model container
 * contract. This file holds what follows from names alone: which server hosts a variant, the model name the
 * server knows it by, and where the server finds and answers it.
 */
import { posix, relative, sep } from 'node:path';
import { pathSegment } from '../../data-paths.js';
import { IMAGE_MODEL_DIR } from './servers.js';

/** The model server hosting a variant in multi-model mode: one per pipeline and backend. */
export function hostKey(v: { pipeline: string; backend: string }): string {
  return `${v.pipeline}\u0000${v.backend}`;
}

/**
 * The name a multi-model server knows (group, version) by: the group's folder name in the artifact store, `--v`,
 * the version (`berlin--v3`, `sao-paulo~f00fd81d…--v2`). Only URL-unreserved characters, so it goes into
 * `/models/<name>/invoke` as it is; distinct for distinct (group, version), as the folders are.
 */
export function modelName(group: string, version: number): string {
  return `${pathSegment(group)}--v${version}`;
}

/** Where a multi-model server answers a model's invocations (the contract's invoke API). */
export function invokePath(name: string): string {
  return `/models/${name}/invoke`;
}

/**
 * The `url` of the load request: the model's folder as the server sees it. A local process reads the artifact
 * store itself; a container has the pipeline's artifacts mounted at /opt/ml/model, read-only.
 */
export function modelUrl(backend: 'local' | 'docker', pipelineArtifacts: string, modelDir: string): string {
  if (backend === 'local') return modelDir;
  return posix.join(IMAGE_MODEL_DIR, ...relative(pipelineArtifacts, modelDir).split(sep));
}
