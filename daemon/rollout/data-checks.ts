/**
 * The data-checks gate over the checks module: every suite of `deployment.data_checks`, one summary
 * each. The module is loaded when a pipeline has data checks, not at daemon start.
 */
import type { DataCheckRunner } from './gates.js';
import { defaultConnection } from './gates.js';

export const runDataCheckGate: DataCheckRunner = async ({ pipeline, repo, repoRoot, group, signal, ledger }) => {
  const { runDataChecks } = await import('../checks/index.js');
  const connection = defaultConnection(pipeline.config);
  const reports = await runDataChecks({
    checks: pipeline.config.pipeline.deployment.data_checks,
    pipelineDir: pipeline.dir,
    repoRoot,
    warehouses: repo?.warehouses ?? {},
    ...(connection ? { defaultConnection: connection } : {}),
    group,
    signal,
    ...(ledger ? { ledger } : {}),
    ...(process.env.MLP_PYTHON ? { python: process.env.MLP_PYTHON } : {}),
  });
  return reports.map((r) => ({
    passed: r.success,
    summary: r.summary,
    report: r,
    failed: r.statistics.unsuccessful_expectations,
    evaluated: r.statistics.evaluated_expectations,
  }));
};
