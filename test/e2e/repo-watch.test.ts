/**
 * `mlpd start --repo DIR` watches DIR: edits, additions and removals take effect within seconds;
 * an invalid edit is reported with positions and the last valid version stays in force, also
 * across a restart.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { copyExampleRepo, writeFiles } from '../helpers/repo.js';

interface StatusJson {
  pipelines: {
    name: string;
    schedule: string | null;
    groups: string[];
    problems: { file: string; line: number; col: number; message: string }[];
  }[];
  repo: { problems: { file: string; line: number; message: string }[] };
}

async function status(d: TestDaemon): Promise<StatusJson> {
  const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as StatusJson;
}

describe('repo watching', () => {
  const daemons: TestDaemon[] = [];
  after(async () => {
    for (const d of daemons) await d.stop();
  });

  it('applies edits, keeps the last valid version of a broken file, and follows additions and removals', async () => {
    const repo = copyExampleRepo();
    const file = join(repo, 'demand-forecast/pipeline.yaml');
    const d = await startTestDaemon({ repo });
    daemons.push(d);
    assert.equal((await status(d)).pipelines[0]!.schedule, '0 2 * * 1');

    // A valid edit shows up within 5 s.
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, original.replace('"0 2 * * 1"', '"30 3 * * *"'));
    const edited = await eventually(
      async () => {
        const s = await status(d);
        return s.pipelines[0]?.schedule === '30 3 * * *' ? s : undefined;
      },
      5000,
      'the edited schedule',
    );
    assert.equal(edited.pipelines[0]!.problems.length, 0);

    // A broken edit is reported at its position; the previous version stays in force.
    writeFileSync(file, original.replace('"0 2 * * 1"', '"30 3 * * *"').replace('step_percent: 20', 'step_percent: 150'));
    const broken = await eventually(
      async () => {
        const s = await status(d);
        return s.pipelines[0]?.problems.length ? s : undefined;
      },
      5000,
      'the invalid edit to be reported',
    );
    const p = broken.pipelines[0]!;
    assert.equal(p.schedule, '30 3 * * *');
    assert.equal(p.problems[0]!.line, 24);
    assert.match(p.problems[0]!.message, /step_percent/);
    await d.waitForLog(/demand-forecast\/pipeline\.yaml:24:\d+: .*step_percent/);
    await d.waitForLog(/is invalid: the previous version stays in force/);

    const human = await runCli('mlp', ['status'], { env: d.clientEnv() });
    assert.match(human.stdout, /INVALID EDIT/);
    assert.match(human.stdout, /pipeline\.yaml:24:\d+: .*step_percent/);

    // A new pipeline folder appears; a deleted one disappears.
    writeFiles(repo, { 'churn/pipeline.yaml': 'pipeline:\n  name: churn\n' });
    await eventually(
      async () => ((await status(d)).pipelines.some((x) => x.name === 'churn') ? true : undefined),
      5000,
      'the added pipeline',
    );
    const churn = (await status(d)).pipelines.find((x) => x.name === 'churn')!;
    assert.deepEqual(churn.groups, ['default']);
    rmSync(join(repo, 'churn'), { recursive: true });
    await eventually(
      async () => ((await status(d)).pipelines.some((x) => x.name === 'churn') ? undefined : true),
      5000,
      'the removed pipeline to go',
    );

    // A file that never was valid is a repo problem, not a pipeline.
    writeFiles(repo, { 'bad/pipeline.yaml': 'pipeline:\n  nmae: x\n' });
    const withBad = await eventually(
      async () => {
        const s = await status(d);
        return s.repo.problems.length ? s : undefined;
      },
      5000,
      'the never-valid file to be reported',
    );
    assert.match(withBad.repo.problems.map((x) => x.message).join('\n'), /nmae/);
    assert.deepEqual(
      withBad.pipelines.map((x) => x.name),
      ['demand-forecast'],
    );

    // After a restart the last valid version is still the one in force.
    assert.equal(await d.stop(), 0);
    const again = await startTestDaemon({ repo, dataDir: d.dataDir });
    daemons.push(again);
    const restarted = await status(again);
    assert.equal(restarted.pipelines[0]!.schedule, '30 3 * * *');
    assert.match(restarted.pipelines[0]!.problems[0]!.message, /step_percent/);
  });
});
