import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { StepSpec } from '../../../daemon/executors/executor.js';
import { createLocalExecutor } from '../../../daemon/executors/local.js';
import { noSessionGroups } from '../../helpers/processes.js';

function spec(command: string, overrides: Partial<StepSpec> = {}): StepSpec {
  const base = mkdtempSync(join(tmpdir(), 'mlp-local-'));
  const dirs = { model: join(base, 'model'), input: join(base, 'input'), output: join(base, 'output') };
  for (const d of Object.values(dirs)) mkdirSync(d);
  const pipelineDir = join(base, 'pipeline');
  mkdirSync(pipelineDir);
  return {
    pipeline: 'p',
    pipelineDir,
    step: 'train',
    command,
    group: 'london',
    runId: 'r-1',
    timeoutMs: 10_000,
    isTrain: true,
    dirs,
    instanceType: 'ml.m5.large',
    env: { EXTRA: 'yes' },
    ...overrides,
  };
}

const collect = () => {
  const lines: string[] = [];
  return {
    lines,
    io: { onLine: (stream: string, line: string) => lines.push(`${stream}: ${line}`), signal: new AbortController().signal },
  };
};

describe('local executor', () => {
  const local = createLocalExecutor({ killGraceMs: 500 });

  it('runs the command in the pipeline folder with the environment contract', async () => {
    const s = spec(
      'pwd; echo "$MLP_GROUP $MLP_RUN_ID $EXTRA"; test "$MLP_MODEL_DIR" = "$SM_MODEL_DIR" && echo same; echo model > "$MLP_MODEL_DIR/m.txt"; echo oops >&2',
    );
    const { lines, io } = collect();
    const outcome = await local.run(s, io);
    assert.equal(outcome.status, 'succeeded');
    assert.deepEqual(
      lines.filter((l) => l.startsWith('stdout')),
      [`stdout: ${s.pipelineDir}`, 'stdout: london r-1 yes', 'stdout: same'],
    );
    assert.ok(lines.includes('stderr: oops'));
    assert.equal(readFileSync(join(s.dirs.model, 'm.txt'), 'utf8'), 'model\n');
  });

  it('fails with the exit code and the last line printed', async () => {
    const outcome = await local.run(spec('echo loading; echo "ValueError: no rows for london" >&2; exit 3'), collect().io);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.exitCode, 3);
    assert.equal(outcome.reason, "step 'train' exited with code 3: ValueError: no rows for london");
  });

  it('stops a step that runs past its limit, with everything it started', async () => {
    const started = Date.now();
    const outcome = await local.run(spec('sleep 30 & sleep 30; echo never', { timeoutMs: 300 }), collect().io);
    assert.equal(outcome.status, 'timed_out');
    assert.match(outcome.reason!, /ran longer than its limit of 300ms/);
    assert.ok(Date.now() - started < 5000);
  });

  it('cancels on abort', async () => {
    const controller = new AbortController();
    const running = local.run(spec('echo started; sleep 30'), { onLine: () => controller.abort(), signal: controller.signal });
    const outcome = await running;
    assert.equal(outcome.status, 'cancelled');
  });

  it('reports a command that is not there as a failure naming it', async () => {
    const outcome = await local.run(spec('python9 train.py'), collect().io);
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.exitCode, 127);
    assert.match(outcome.reason!, /code 127: .*python9.*not found/);
  });

  it("runs steps at runs.nice's lower CPU priority, and what they start too; 0 keeps the daemon's own", async () => {
    // Field 19 of /proc/PID/stat is the niceness; the step reads its own and its child's.
    const niceOf = `awk '{ print $19 }' /proc/$$/stat; sh -c "awk '{ print \\$19 }' /proc/\\$\\$/stat"`;
    const own = Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[16]);
    const niced = createLocalExecutor({ nice: () => 7 });
    const { lines, io } = collect();
    assert.equal((await niced.run(spec(niceOf), io)).status, 'succeeded');
    assert.deepEqual(lines, [`stdout: ${Math.min(19, own + 7)}`, `stdout: ${Math.min(19, own + 7)}`]);

    const asIs = createLocalExecutor({ nice: () => 0 });
    const plain = collect();
    assert.equal((await asIs.run(spec(niceOf), plain.io)).status, 'succeeded');
    assert.deepEqual(plain.lines, [`stdout: ${own}`, `stdout: ${own}`]);
  });

  // Where Linux schedules sessions as groups (autogroups), a step alone in its session under `nice -n`
  // would still take as much CPU as the whole daemon: its session gets the same priority.
  it(
    "gives the step's session runs.nice too, so it yields to the daemon where sessions are scheduled as groups",
    { skip: noSessionGroups },
    async () => {
      // The session's priority is set just after the step starts: the step waits (up to 5 s) to see it.
      const sessionNice = `for i in $(seq 50); do grep -q 'nice 7$' /proc/$$/autogroup && break; sleep 0.1; done; cat /proc/$$/autogroup`;
      const { lines, io } = collect();
      assert.equal((await createLocalExecutor({ nice: () => 7 }).run(spec(sessionNice), io)).status, 'succeeded');
      assert.match(lines.join('\n'), /nice 7$/);

      const plain = collect();
      assert.equal((await createLocalExecutor({ nice: () => 0 }).run(spec('cat /proc/$$/autogroup'), plain.io)).status, 'succeeded');
      assert.match(plain.lines.join('\n'), /nice 0$/);
    },
  );
});
