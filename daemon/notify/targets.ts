/**
 * The notification targets in force: each pipeline's are mlp.yaml's plus its own
 * (docs/notifications.md). `mlp validate` runs where mlpd's environment is not, so a `${VAR}` a
 * target needs and mlpd lacks is said here, when the config comes into force.
 */
import { pipelineTargets, targetLabel, type NotifyTargetConfig } from '../../shared/config/notify.js';
import type { Logger } from '../log.js';
import type { PipelineRegistry } from '../repo/registry.js';
import { unsetProblem } from './view.js';

export interface NotifyTargets {
  of(pipeline: string): NotifyTargetConfig[];
  /** Logs a warning, on the pipeline, for each of its targets whose URL uses a variable mlpd's environment does not set. */
  checkEnvironment(pipelines: string[]): void;
}

export function notifyTargets(deps: {
  registry: PipelineRegistry;
  log: Logger;
  env: Readonly<Record<string, string | undefined>>;
}): NotifyTargets {
  const { registry, log, env } = deps;
  const of = (pipeline: string) =>
    pipelineTargets(registry.repoConfig()?.notify ?? [], registry.get(pipeline)?.config.pipeline.notify ?? []);
  return {
    of,
    checkEnvironment(pipelines) {
      for (const name of pipelines) {
        for (const t of of(name)) {
          const problem = unsetProblem(t.url, env);
          if (problem) log.warn('notify', `target ${targetLabel(t.url, env)}: ${problem}`, name);
        }
      }
    },
  };
}
