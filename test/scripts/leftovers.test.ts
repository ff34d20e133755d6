/**
 * `npm test` fails, naming them, when tests leave processes behind: scripts/test.mjs run for real on a
 * tiny project in a temp dir, with a test file that forgets the process it started.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT } from '../helpers/cli.js';
import { TEST_IMAGE } from '../helpers/services.js';

const LEAKY_TEST = `import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';

test('starts a process and forgets it', () => {
  spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600_000) // the forgotten one'], { detached: true, stdio: 'ignore' }).unref();
});
`;

const TIDY_TEST = `import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';

test('starts a process and stops it', async () => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600_000) // the tidy one'], { stdio: 'ignore' });
  child.kill();
  await new Promise((resolve) => child.once('exit', resolve));
});
`;

const CONTAINER = `mlp-forgotten-${process.pid}`;

const CONTAINER_LEAKY_TEST = `import { execFileSync } from 'node:child_process';
import { test } from 'node:test';

test('starts a container and forgets it', () => {
  const label = (k, v) => ['--label', k + '=' + v];
  execFileSync('docker', ['run', '-d', '--name', '${CONTAINER}', ...label('mlp.test-run', process.env.MLP_TEST_RUN), ...label('mlp.test-file', process.env.MLP_TEST_FILE), '${TEST_IMAGE}', 'sleep', '600']);
});
`;

/** A project with the real test command, a build and a setup that do nothing, and two test files. */
function tinyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-test-command-'));
  mkdirSync(join(dir, 'scripts'));
  for (const f of ['test.mjs', 'leftovers.mjs', 'test-file.mjs']) copyFileSync(join(ROOT, 'scripts', f), join(dir, 'scripts', f));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'nothing.ts'), 'export {};\n');
  writeFileSync(
    join(dir, 'tsconfig.build.json'),
    JSON.stringify({ compilerOptions: { noEmit: true, module: 'nodenext', skipLibCheck: true }, files: ['src/nothing.ts'] }),
  );
  mkdirSync(join(dir, 'test', 'setup'), { recursive: true });
  writeFileSync(join(dir, 'test', 'setup', 'ensure.sh'), 'exit 0\n');
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  // The lint step runs here too; this project's files are the test's own, so it has no rules and formats nothing.
  writeFileSync(join(dir, 'eslint.config.js'), 'export default [{}];\n');
  writeFileSync(join(dir, '.prettierignore'), '*\n');
  writeFileSync(join(dir, 'leaky.test.ts'), LEAKY_TEST);
  writeFileSync(join(dir, 'tidy.test.ts'), TIDY_TEST);
  writeFileSync(join(dir, 'container-leaky.test.ts'), CONTAINER_LEAKY_TEST);
  return dir;
}

function npmTest(dir: string, files: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // As a person runs it: not as a test file's child, which node:test would refuse to run files in.
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, [join(dir, 'scripts', 'test.mjs'), ...files], {
      cwd: dir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** Pids of processes whose command line contains `text`. */
function running(text: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('npm test and what tests leave behind', () => {
  let dir: string;
  before(() => {
    dir = tinyProject();
  });
  after(() => {
    for (const pid of running('// the forgotten one')) process.kill(pid, 'SIGKILL');
    spawnSync('docker', ['rm', '-f', CONTAINER], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails naming the process a test left running, with the test file, and ends it', async () => {
    const r = await npmTest(dir, ['leaky.test.ts', 'tidy.test.ts']);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /✔ starts a process and forgets it/, 'the test itself passed');
    assert.match(
      r.output,
      /npm test: FAILED: 1 process started by the tests outlived the run \(ended now\); a test must stop what it starts:/,
    );
    assert.match(
      r.output,
      /^ {2}pid \d+ \(started by leaky\.test\.ts\): \S*node -e setTimeout\(\(\) => \{\}, 600_000\) \/\/ the forgotten one$/m,
    );
    assert.doesNotMatch(r.output, /the tidy one/);
    assert.deepEqual(running('// the forgotten one'), [], 'the leftover was ended');
  });

  it('fails naming a container a test left running, and removes it', async () => {
    const r = await npmTest(dir, ['container-leaky.test.ts']);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /npm test: FAILED: 1 container started by the tests outlived the run/);
    assert.match(
      r.output,
      new RegExp(
        `^ {2}container ${CONTAINER} \\([0-9a-f]+, image ${TEST_IMAGE.replace(/[.]/g, '\\.')}\\) \\(started by container-leaky\\.test\\.ts\\)$`,
        'm',
      ),
    );
    const left = execFileSync('docker', ['ps', '-a', '-q', '--filter', `name=^${CONTAINER}$`], { encoding: 'utf8' });
    assert.equal(left.trim(), '', 'the container was removed');
  });

  it('passes when the tests stop what they start', async () => {
    const r = await npmTest(dir, ['tidy.test.ts']);
    assert.equal(r.code, 0, r.output);
    assert.doesNotMatch(r.output, /FAILED/);
  });
});
