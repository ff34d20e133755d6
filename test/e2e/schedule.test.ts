/**
 * Schedules against the real clock: a `* * * * *` pipeline runs at the next minute; after a
 * `kill -9` across a minute boundary, the restarted daemon runs the missed fire time once.
 * Takes one to two minutes by nature (cron fires on whole minutes).
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { pipelineRepo } from '../helpers/pipelines.js';

interface RunJson {
  id: string;
  trigger: string;
  status: string;
  scheduledFor: number | null;
}

async function runs(d: TestDaemon): Promise<RunJson[]> {
  const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { pipelines: { runs: RunJson[] }[] }).pipelines[0]!.runs;
}

const nextMinute = (t: number) => Math.floor(t / 60_000) * 60_000 + 60_000;

describe('cron schedules', () => {
  const daemons: TestDaemon[] = [];
  after(async () => {
    // SIGTERM: a daemon stops its model servers; a killed one would leave them running.
    for (const d of daemons) await d.stop();
  });

  it('runs on the minute, and runs a fire time missed while killed exactly once', { timeout: 200_000 }, async () => {
    const repo = pipelineRepo({
      cities: ['oslo'],
      pipelineYaml: 'pipeline:\n  name: minutely\n  schedule: "* * * * *"\n  groups:\n    generate: true\n    source: warehouse.cities\n',
    });
    const first = await startTestDaemon({ repo });
    daemons.push(first);

    const scheduled = await eventually(
      async () => (await runs(first)).find((r) => r.trigger === 'schedule' && r.status === 'succeeded'),
      75_000,
      'a scheduled run',
    );
    assert.equal(scheduled.scheduledFor! % 60_000, 0);

    await first.stop('SIGKILL');
    const missedMinute = nextMinute(Date.now());
    await new Promise((r) => setTimeout(r, missedMinute - Date.now() + 1500));

    const second = await startTestDaemon({ repo, dataDir: first.dataDir });
    daemons.push(second);
    const caughtUp = await eventually(async () => (await runs(second)).find((r) => r.trigger === 'catch_up'), 15_000, 'the catch-up run');
    assert.ok(caughtUp.scheduledFor! >= missedMinute, 'the catch-up run is for the minute missed while down');
    const all = await runs(second);
    // Only catch-ups since the kill count: on a loaded machine the first daemon can take so long to
    // start that a minute turns between loading the config and scheduling it, and that fire time is
    // (rightly) caught up then.
    const sinceKill = all.filter((r) => r.trigger === 'catch_up' && r.scheduledFor! >= missedMinute);
    assert.equal(
      sinceKill.length,
      1,
      `one catch-up run for the downtime; the runs: ${JSON.stringify(all, null, 1)}\nthe restarted daemon's log:\n${second.stderr()}`,
    );
    // Each fire time has one run at most.
    const times = all.filter((r) => r.scheduledFor !== null).map((r) => r.scheduledFor);
    assert.equal(new Set(times).size, times.length);
  });
});
