/** The command-line contract (README.md, "Commands"): help, exit codes, and the commands that need no daemon. */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../tui/cli/main.js';
import { ROOT, runCli } from '../helpers/cli.js';
import { copyExampleRepo, makeRepo } from '../helpers/repo.js';

describe('mlp', () => {
  it('lists every command in --help, and each command has its own --help', async () => {
    const top = await runCli('mlp', ['--help']);
    assert.equal(top.code, 0);
    for (const [name, spec] of Object.entries(COMMANDS)) {
      assert.ok(top.stdout.includes(spec.usage), `mlp --help lacks ${name}`);
      const own = await runCli('mlp', [name, '--help']);
      assert.equal(own.code, 0, `${name} --help: ${own.stderr}`);
      assert.ok(own.stdout.startsWith(spec.usage), `mlp ${name} --help: ${own.stdout}`);
    }
  });

  it('exits 2 on usage errors and says what to do', async () => {
    const unknown = await runCli('mlp', ['stauts']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'stauts' \(did you mean 'status'\?\)/);
    const badFlag = await runCli('mlp', ['status', '--jsn']);
    assert.equal(badFlag.code, 2);
    assert.match(badFlag.stderr, /--jsn.*see 'mlp status --help'/);
    const noPipeline = await runCli('mlp', ['promote']);
    assert.equal(noPipeline.code, 2);
    for (const args of [
      ['tail', ''],
      ['promote', ' '],
      ['deploy', ''],
      ['invoke', '', '--data', '{}'],
    ]) {
      const empty = await runCli('mlp', args);
      assert.equal(empty.code, 2, `mlp ${args.join(' ')}: ${empty.stderr}`);
      assert.match(empty.stderr, new RegExp(`^mlp: mlp ${args[0]}: the pipeline name is empty \\('mlp status' lists the pipelines\\)\n$`));
    }
  });

  it('exits 3 with a hint when there is no token to use', async () => {
    const r = await runCli('mlp', ['status'], { env: { MLP_DATA_DIR: mkdtempSync(join(tmpdir(), 'mlp-empty-')) } });
    assert.equal(r.code, 3);
    assert.match(r.stderr, /no token: set MLP_TOKEN, or MLP_DATA_DIR/);
  });

  it('validates the bundled example from inside the repo without a daemon', async () => {
    const r = await runCli('mlp', ['validate'], { cwd: join(ROOT, 'examples/repo/demand-forecast') });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ok: 2 pipelines valid \(churn-risk, demand-forecast\)/);
  });

  it('prints FILE:LINE:COL for each problem and exits 1', async () => {
    const repo = makeRepo({
      'mlp.yaml': 'warehouses:\n  warehouse: sqlite:w.db\n',
      'p/pipeline.yaml': 'pipeline:\n  name: p\n  schedule: "61 * * * *"\n  deployment:\n    rollout:\n      step_percnt: 10\n',
    });
    const r = await runCli('mlp', ['validate', 'p'], { cwd: repo });
    assert.equal(r.code, 1);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 2, r.stdout);
    assert.match(lines[0]!, /^p\/pipeline\.yaml:3:13: .*minute/);
    assert.match(lines[1]!, /^p\/pipeline\.yaml:6:7: .*step_percnt.*did you mean 'step_percent'/);
    const json = await runCli('mlp', ['validate', 'p', '--json'], { cwd: repo });
    assert.equal(json.code, 1);
    assert.equal((JSON.parse(json.stdout) as { problems: unknown[] }).problems.length, 2);
  });

  it('prints the JSON Schema for editors', async () => {
    const r = await runCli('mlp', ['schema']);
    assert.equal(r.code, 0);
    const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown> };
    assert.ok(schema.properties.pipeline);
  });
});

describe('mlpd', () => {
  it('exits 2 on a bad flag', async () => {
    const r = await runCli('mlpd', ['start', '--prot', '1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--prot/);
  });

  it('exits 1 with a clear reason when its port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runCli('mlpd', [
        'start',
        '--repo',
        copyExampleRepo(),
        '--data-dir',
        mkdtempSync(join(tmpdir(), 'mlp-data-')),
        '--port',
        String(port),
        '--serve-port',
        '0',
      ]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`cannot listen for the API on 127\\.0\\.0\\.1:${port}: the port is in use`));
    } finally {
      blocker.close();
    }
  });

  it('says what --serve-workers takes, and why its router workers cannot listen', async () => {
    const bad = await runCli('mlpd', ['start', '--serve-workers', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--serve-workers: '0' is not a number of router processes \(1-256; 1 = inside mlpd\)/);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const args = [
        'start',
        '--repo',
        copyExampleRepo(),
        '--data-dir',
        mkdtempSync(join(tmpdir(), 'mlp-data-')),
        '--port',
        '0',
        '--serve-port',
        String(port),
        '--serve-workers',
        '2',
      ];
      const r = await runCli('mlpd', args);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`cannot listen for model traffic on 127\\.0\\.0\\.1:${port}: the port is in use`));
    } finally {
      blocker.close();
    }
  });
});
