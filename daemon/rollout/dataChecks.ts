/** The data-checks gate over the checks module: every suite of `deployment.data_checks`, one summary each. */
import { runDataChecks } from '../checks/index.js';
import type { DataCheckRunner } from './gates.js';
import { defaultConnection } from './gates.js';

export const runDataCheckGate: DataCheckRunner = async ({ pipeline, repo, repoRoot, group }) => {
  const connection = defaultConnection(pipeline.config);
  const reports = await runDataChecks({
    checks: pipeline.config.pipeline.deployment.data_checks,
    pipelineDir: pipeline.dir,
    repoRoot,
    warehouses: repo?.warehouses ?? {},
    ...(connection ? { defaultConnection: connection } : {}),
    group,
  });
  return reports.map((r) => ({
    passed: r.success,
    summary: r.summary,
    report: r,
    failed: r.statistics.unsuccessful_expectations,
    evaluated: r.statistics.evaluated_expectations,
  }));
};
