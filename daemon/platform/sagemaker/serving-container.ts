/**
 * The container of a model version's SageMaker Model: the pipeline's image, run by SageMaker as
 * `docker run <image> serve` with the model at /opt/ml/model, and the serving image's environment
 * (daemon/serving/servers/servers.ts servingImageEnv), the same the docker backend gives its containers, less
 * what SageMaker decides itself (it listens on 8080; no HOST or PORT) and what only a daemon's own servers
 * need (MLP_SERVER_ID). docs/serving.md, "The serving image".
 */
import type { PipelineConfig } from '../../../shared/config/schema.js';
import { MlpError } from '../../../shared/errors.js';
import { servingImageEnv } from '../../serving/servers/servers.js';
import { variantName } from './naming.js';

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
    Environment: servingImageEnv({ pipeline: p.name, group, variant: variantName(version), command: p.serve.command }),
  };
}
