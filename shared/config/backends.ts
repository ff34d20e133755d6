/**
 * Where a pipeline's steps run and where its models serve: two settings, so a team can train on
 * SageMaker and serve on its own server, or train in Docker and serve from SageMaker endpoints.
 * Every part of mlp that needs either answer asks here.
 */
import type { Backend, PipelineSpec } from './schema.js';

export interface PipelineBackends {
  /** Where every step of a run executes. */
  training: Backend;
  /** Where model versions serve. */
  serving: Backend;
}

/**
 * The pipeline's `training.backend`, else mlp.yaml `defaults.training.backend` (the loader writes it into
 * `training.backend`), else the pipeline's effective `deployment.backend`: a pipeline that names only
 * one backend trains and serves there, as before the two were separate.
 */
export function trainingBackend(pipeline: PipelineSpec): Backend {
  return pipeline.training.backend ?? pipeline.deployment.backend;
}

export function pipelineBackends(pipeline: PipelineSpec): PipelineBackends {
  return { training: trainingBackend(pipeline), serving: pipeline.deployment.backend };
}
