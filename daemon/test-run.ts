/**
 * `npm test` marks each run with MLP_TEST_RUN (and MLP_TEST_FILE, the test file) in the environment, so
 * whatever a test leaves running can be found, named and ended after the run (scripts/leftovers.mjs).
 * Processes inherit the mark; containers do not, so the daemon puts it on those it starts as labels.
 * Outside a test run there is no mark and no label.
 */
export function testRunLabels(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const run = env.MLP_TEST_RUN;
  if (!run) return {};
  return { 'mlp.test-run': run, ...(env.MLP_TEST_FILE ? { 'mlp.test-file': env.MLP_TEST_FILE } : {}) };
}
