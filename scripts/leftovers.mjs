// What a test run left behind: processes and containers its tests started that are still there after
// the run. `npm test` (scripts/test.mjs) marks the run: MLP_TEST_RUN=<id> in the environment of the test
// runner, which every process the tests start inherits (daemons, their steps, checks and model servers
// included); scripts/test-file.mjs adds MLP_TEST_FILE, the test file whose process started it. Containers
// inherit no environment: the daemon labels those it starts `mlp.test-run=<id>` (daemon/test-run.ts).
// Services the setup starts before the run (dockerd, PostgreSQL) do not carry the mark.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export const RUN_ENV = 'MLP_TEST_RUN';
export const FILE_ENV = 'MLP_TEST_FILE';
const RUN_LABEL = 'mlp.test-run';

/** Processes whose environment carries the run's mark: `{ pid, args, file }` (file: the test file, when known). */
export function markedProcesses(runId) {
  const mark = `${RUN_ENV}=${runId}`;
  const found = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (!env.includes(mark)) continue;
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      const file = env.find((e) => e.startsWith(`${FILE_ENV}=`))?.slice(FILE_ENV.length + 1) ?? null;
      found.push({ pid: Number(entry), args, file });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** Running containers labelled with the run's mark: `{ id, name, image, file }`; none when there is no docker. */
export function markedContainers(runId) {
  const r = spawnSync(
    'docker',
    ['ps', '--filter', `label=${RUN_LABEL}=${runId}`, '--format', '{{.ID}}\t{{.Names}}\t{{.Image}}\t{{.Label "mlp.test-file"}}'],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) return [];
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [id, name, image, file] = line.split('\t');
      return { id, name, image, file: file || null };
    });
}

/**
 * Waits up to `graceMs` for the run's processes and containers to end on their own (a daemon stopped by
 * the last test may still be stopping its servers), then ends and returns those still there.
 */
export async function endLeftovers(runId, graceMs = 3_000) {
  const deadline = Date.now() + graceMs;
  let processes = markedProcesses(runId);
  let containers = markedContainers(runId);
  while ((processes.length || containers.length) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    processes = markedProcesses(runId);
    containers = markedContainers(runId);
  }
  for (const p of processes) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // ended meanwhile
    }
  }
  if (containers.length) spawnSync('docker', ['rm', '-f', ...containers.map((c) => c.id)], { stdio: 'ignore' });
  return { processes, containers };
}

/** What `npm test` prints about what was left: nothing when nothing was. */
export function describeLeftovers({ processes, containers }) {
  if (!processes.length && !containers.length) return [];
  const count = (n, one, many) => (n ? `${n} ${n === 1 ? one : many}` : '');
  const what = [count(processes.length, 'process', 'processes'), count(containers.length, 'container', 'containers')]
    .filter(Boolean)
    .join(' and ');
  const from = (file) => (file ? ` (started by ${file})` : '');
  return [
    `npm test: FAILED: ${what} started by the tests outlived the run (ended now); a test must stop what it starts:`,
    ...processes.map((p) => `  pid ${p.pid}${from(p.file)}: ${p.args}`),
    ...containers.map((c) => `  container ${c.name} (${c.id}, image ${c.image})${from(c.file)}`),
  ];
}
