/**
 * Output through a pipe: every command writes all of it however slowly the reader reads (a pipe
 * takes 64 KiB at once; the rest used to be dropped at exit), and a reader that stops early ends
 * the command quietly.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../../daemon/store/db.js';
import { BIN, cleanEnv, runCli } from '../helpers/cli.js';
import { startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { makeRepo } from '../helpers/repo.js';

/** Reads stdin only after a pause (the writer fills the pipe first), then parses all of it as JSON. */
const SLOW_JSON_READER = `python3 -c 'import json, sys, time; time.sleep(1); print(json.dumps(json.load(sys.stdin))[:0] + "parsed")'`;

interface Piped {
  /** Exit codes of the writer and of the reader (bash's PIPESTATUS). */
  codes: number[];
  stdout: string;
  stderr: string;
}

/** `PROGRAM ARGS | READER` in bash, as a user types it; the writer's stderr is kept apart unless merged (2>&1). */
function pipe(
  program: keyof typeof BIN,
  args: string[],
  reader: string,
  opts: { env?: Record<string, string>; cwd?: string; mergeStderr?: boolean } = {},
): Promise<Piped> {
  const quoted = [process.execPath, BIN[program], ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `${quoted} ${opts.mergeStderr ? '2>&1' : '2>"$WRITER_ERR"'} | ${reader}; echo "codes \${PIPESTATUS[*]}"`;
  const errFile = join(mkdtempSync(join(tmpdir(), 'mlp-pipe-')), 'stderr');
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], {
      cwd: opts.cwd,
      env: cleanEnv({ ...opts.env, WRITER_ERR: errFile }),
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      const m = /codes ([\d ]+)\n$/.exec(out);
      if (!m) return reject(new Error(`no exit codes in: ${out}`));
      resolve({
        codes: m[1]!.trim().split(' ').map(Number),
        stdout: out.slice(0, m.index),
        stderr: opts.mergeStderr ? '' : readFileSync(errFile, 'utf8'),
      });
    });
  });
}

describe('piped output', () => {
  it('mlp validate --json writes all of its report to a slow reader (no daemon)', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 1000; i++)
      files[`p${i}/pipeline.yaml`] = `pipeline:\n  name: p${i}\n  nonsense_key_number_one: 1\n  another_bad_key: 2\n`;
    const repo = makeRepo(files);
    const direct = await runCli('mlp', ['validate', '--json', '.'], { cwd: repo });
    assert.ok(direct.stdout.length > 100_000, `the report is only ${direct.stdout.length} bytes; it must be well over 64 KiB`);

    const r = await pipe('mlp', ['validate', '--json', '.'], SLOW_JSON_READER, { cwd: repo });
    assert.equal(r.stdout.trim(), 'parsed', r.stderr);
    assert.deepEqual(r.codes, [1, 0], 'mlp exits 1 (problems found), the reader 0');
  });

  it('mlpd token list --json writes all of a long list to a slow reader', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'mlp-data-'));
    const store = openStore(dataDir);
    for (let i = 0; i < 1000; i++) store.tokens.create(`reader-for-the-dashboards-of-team-${i}`, 'viewer');
    store.close();
    const r = await pipe('mlpd', ['token', 'list', '--json', '--data-dir', dataDir], SLOW_JSON_READER);
    assert.equal(r.stdout.trim(), 'parsed', r.stderr);
    assert.deepEqual(r.codes, [0, 0]);
  });

  it('mlp invoke prints its verdict on a line of its own after the whole answer, also through one pipe (2>&1)', async () => {
    // The router's address comes from MLP_SERVE_URL; this one answers every request with `answer`.
    let answer = '';
    const router = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'x-mlp-variant': 'v1' }).end(answer));
    });
    await new Promise<void>((resolve) => router.listen(0, '127.0.0.1', resolve));
    const env = { MLP_SERVE_URL: `http://127.0.0.1:${(router.address() as AddressInfo).port}` };
    try {
      answer = '{"demand": 260.7}';
      const small = await pipe('mlp', ['invoke', 'forecast', '--data', '{"week": 3}'], 'cat', { env, mergeStderr: true });
      assert.match(small.stdout, /^\{"demand": 260\.7\}\nHTTP 200 from v1 in [\d.]+ ms\n$/);

      answer = JSON.stringify({ demand: 'x'.repeat(200_000) });
      const big = await pipe('mlp', ['invoke', 'forecast', '--data', '{"week": 3}'], '(sleep 1; cat)', { env, mergeStderr: true });
      const lines = big.stdout.split('\n');
      assert.equal(
        lines.length,
        3,
        `the answer, the verdict, nothing after the last newline; the verdict is at offset ${big.stdout.indexOf('HTTP 200')} of ${big.stdout.length}`,
      );
      assert.equal(lines[0], answer);
      assert.match(lines[1]!, /^HTTP 200 from v1 in [\d.]+ ms$/);
      assert.deepEqual(big.codes, [0, 0]);
    } finally {
      router.close();
    }
  });

  describe('against a daemon', () => {
    let daemon: TestDaemon;
    const LINES = 3000;
    before(async () => {
      const files: Record<string, string> = {};
      // Enough pipelines for `mlp status --json` to be well over 64 KiB.
      for (let i = 0; i < 150; i++) files[`pipeline-number-${i}/pipeline.yaml`] = `pipeline:\n  name: pipeline-number-${i}\n`;
      // A training step that says a lot, then fails (so no model server starts).
      files['pipeline-number-0/train.py'] = `for i in range(${LINES}):\n    print(f"training line {i} " + "x" * 60)\nraise SystemExit(1)\n`;
      daemon = await startTestDaemon({ repo: makeRepo(files) });
      const deploy = await runCli('mlp', ['deploy', 'pipeline-number-0'], { env: daemon.clientEnv() });
      assert.equal(deploy.code, 0, deploy.stderr);
      await daemon.waitForLog(/run pipeline-number-0: r-\S+ failed/, 30_000);
    });
    after(async () => {
      await daemon?.stop();
    });

    it('mlp status --json writes all 150 pipelines to a slow reader', async () => {
      const count = `python3 -c 'import json, sys, time; time.sleep(1); print(len(json.load(sys.stdin)["pipelines"]))'`;
      const r = await pipe('mlp', ['status', '--json'], count, { env: daemon.clientEnv() });
      assert.equal(r.stdout.trim(), '150', r.stderr);
      assert.deepEqual(r.codes, [0, 0]);
    });

    it('mlp tail --since writes every stored line to a slow reader', async () => {
      const r = await pipe('mlp', ['tail', 'pipeline-number-0', '--since', '1h'], `(sleep 1; grep -c 'default/train | training line')`, {
        env: daemon.clientEnv(),
      });
      assert.equal(r.stdout.trim(), String(LINES), r.stderr);
      assert.equal(r.codes[0], 0);
    });

    it('a reader that stops early ends mlp quietly, without a stack trace', async () => {
      const r = await pipe('mlp', ['tail', 'pipeline-number-0', '--since', '1h', '--json'], 'head -1', { env: daemon.clientEnv() });
      assert.equal(r.stdout.split('\n').filter(Boolean).length, 1, r.stdout);
      assert.equal(JSON.parse(r.stdout).pipeline, 'pipeline-number-0');
      assert.equal(r.stderr, '', 'nothing on stderr');
      assert.deepEqual(r.codes, [141, 0], 'mlp exits as cat does when its reader goes: 128 + SIGPIPE');
    });

    it('mlpd keeps serving when the reader of its log goes away', async () => {
      daemon.proc.stderr!.destroy();
      // Every command is logged: the daemon writes to the closed pipe.
      for (let i = 0; i < 3; i++) {
        const r = await runCli('mlp', ['deploy', 'pipeline-number-1'], { env: daemon.clientEnv() });
        assert.notEqual(r.code, 3, r.stderr);
      }
      const status = await runCli('mlp', ['status', '--json'], { env: daemon.clientEnv() });
      assert.equal(status.code, 0, status.stderr);
      assert.equal(daemon.proc.exitCode, null, 'mlpd is still running');
    });
  });
});
