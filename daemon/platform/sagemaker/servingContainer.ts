/**
 * The container of a model version's SageMaker Model: the pipeline's image, run by SageMaker as
 * `docker run <image> serve` with the model at /opt/ml/model, and the environment the docker backend gives a
 * model server (daemon/serving/servers.ts serverEnv, dockerServer.ts), less what SageMaker decides itself
 * (it listens on 8080; no HOST or PORT) and less what only a daemon's own servers need (MLP_SERVER_ID).
 */
import type { PipelineConfig } from '../../../shared/config/schema.js';
import { MlpError } from '../../../shared/errors.js';
import { variantName } from './naming.js';

/** Where SageMaker unpacks `ModelDataUrl`. */
export const SAGEMAKER_MODEL_DIR = '/opt/ml/model';

export interface ServingContainer {
  Image: string;
  Environment: Record<string, string>;
}

export function servingContainer(config: PipelineConfig, group: string, version: number): ServingContainer {
  const p = config.pipeline;
  if (!p.image) {
    throw new MlpError(
      'invalid_config',
      `deployment.backend: sagemaker needs \`image:\` in ${p.name}'s pipeline.yaml: the container image (in a registry SageMaker can pull from, such as ECR) whose \`serve\` starts serve.command (docs/serving.md, "SageMaker endpoints")`,
    );
  }
  return {
    Image: p.image,
    Environment: {
      MLP_SERVE_COMMAND: p.serve.command,
      MLP_MODEL_DIR: SAGEMAKER_MODEL_DIR,
      SM_MODEL_DIR: SAGEMAKER_MODEL_DIR,
      MLP_PIPELINE: p.name,
      MLP_GROUP: group,
      MLP_VARIANT: variantName(version),
    },
  };
}
