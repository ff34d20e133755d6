#!/usr/bin/env node
// The one test command (README, .ci/run): build, lint, bring up what the tests need, run every test file.
// Usage: npm test [-- FILE_OR_DIR ...]   (default: every *.test.ts / *.test.tsx in the project)
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { cpus } from 'node:os';
import { describeLeftovers, endLeftovers, FILE_ENV, RUN_ENV } from './leftovers.mjs';

const root = resolve(import.meta.dirname, '..');
const skip = new Set(['node_modules', 'dist', '.git', '.mlp']);

function findTests(dir) {
  const st = statSync(dir);
  if (st.isFile()) return [dir];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    if (skip.has(name)) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (/\.test\.tsx?$/.test(name)) out.push(p);
  }
  return out;
}

// The build and the setup are not part of the run: services the setup starts (dockerd, PostgreSQL) stay
// up on purpose and must not carry the run's mark, even when this run was started by a test of another.
const unmarked = { ...process.env };
delete unmarked[RUN_ENV];
delete unmarked[FILE_ENV];

function run(cmd, args, what, fix = 'see the output above') {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: unmarked });
  if (r.status !== 0) {
    console.error(`npm test: ${what} failed (exit ${r.status ?? r.signal}); ${fix}`);
    process.exit(r.status || 1);
  }
}

run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], 'build');
// The lint goes before the tests so that a dropped promise or an unformatted file fails fast, named by file and line.
const fixHint = '`npm run format` fixes the layout and what eslint can fix itself; the rest is named above';
run(process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '--max-warnings', '0', '.'], 'lint (eslint)', fixHint);
run(
  process.execPath,
  [join(root, 'node_modules/prettier/bin/prettier.cjs'), '--check', '--log-level', 'warn', '.'],
  'lint (prettier --check)',
  fixHint,
);
run('bash', [join(root, 'test/setup/ensure.sh')], 'test environment setup');

const targets = process.argv.slice(2);
const files = (targets.length ? targets.map((t) => resolve(t)) : [root]).flatMap(findTests);
if (files.length === 0) {
  console.error('npm test: no test files found');
  process.exit(1);
}
const concurrency = String(Math.max(2, cpus().length));
// A test that hangs fails after TEST_TIMEOUT_MS instead of holding CI to its limit; the whole run has a
// budget too, because a file whose tests all finished can still hang on a process or timer it leaked.
const TEST_TIMEOUT_MS = 5 * 60_000;
const budgetMs = Number(process.env.MLP_TEST_BUDGET_MINUTES || 30) * 60_000;
// Every process of the run carries this mark, so what outlives the run can be found and named.
const runId = randomBytes(6).toString('hex');
const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--import',
    join(root, 'scripts/test-file.mjs'),
    '--test',
    '--test-reporter=spec',
    `--test-concurrency=${concurrency}`,
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    ...files.map((f) => relative(root, f)),
  ],
  {
    cwd: root,
    stdio: 'inherit',
    detached: true,
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...unmarked, MLP_TEST: '1', [RUN_ENV]: runId },
  },
);
const killAll = (signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
};
const budget = setTimeout(() => {
  console.error(
    `npm test: the run took longer than ${budgetMs / 60_000} min and was stopped; a test file above probably left a process or timer running (MLP_TEST_BUDGET_MINUTES changes the budget)`,
  );
  killAll('SIGTERM');
  setTimeout(() => killAll('SIGKILL'), 5_000).unref();
}, budgetMs);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => killAll(signal));
child.on('exit', async (code, signal) => {
  clearTimeout(budget);
  const left = await endLeftovers(runId);
  const lines = describeLeftovers(left);
  for (const line of lines) console.error(line);
  process.exit(code || (signal ? 1 : 0) || (lines.length ? 1 : 0));
});
