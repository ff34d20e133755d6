/**
 * Groups are warehouse data. In the daemon, from outside: a group named like a path to another
 * pipeline's folder trains and serves its own model inside its own pipeline, the other pipeline keeps
 * serving its own, nothing lands outside the data dir, and a value that cannot be a group is reported.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { pipelineRepo, SERVE_PY, TRAIN_PY } from '../helpers/pipelines.js';

interface PipelineJson {
  name: string;
  groups: string[];
  groupsError: string | null;
  current: { version: string; groups: Record<string, string> } | null;
}

async function pipelines(d: TestDaemon): Promise<Record<string, PipelineJson>> {
  const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
  assert.equal(r.code, 0, r.stderr);
  return Object.fromEntries((JSON.parse(r.stdout) as { pipelines: PipelineJson[] }).pipelines.map((p) => [p.name, p]));
}

const HOSTILE = '../other-pipeline/default';

describe('groups named like paths, in the daemon', () => {
  let d: TestDaemon | undefined;
  after(async () => {
    await d?.stop();
  });

  it('serve their own model; the other pipeline keeps serving its own; nothing lands outside the data dir', async () => {
    const repo = pipelineRepo({
      cities: ['london', HOSTILE, ''],
      extra: {
        'other-pipeline/pipeline.yaml': 'pipeline:\n  name: other-pipeline\n',
        'other-pipeline/train.py': TRAIN_PY,
        'other-pipeline/serve.py': SERVE_PY,
      },
    });
    // Deep in a folder of its own: whatever escapes the data dir shows up around it.
    const around = mkdtempSync(join(tmpdir(), 'mlp-around-'));
    d = await startTestDaemon({ repo, dataDir: join(around, 'a', 'b', 'data') });
    const daemon = d;

    for (const name of ['other-pipeline', 'forecast']) {
      const deploy = await runCli('mlp', ['deploy', name], { env: daemon.clientEnv() });
      assert.equal(deploy.code, 0, deploy.stderr);
      const groups = name === 'forecast' ? [HOSTILE, 'london'] : ['default'];
      await eventually(
        async () => {
          const current = (await pipelines(daemon))[name]?.current?.groups ?? {};
          return groups.every((g) => current[g] === 'v1') ? true : undefined;
        },
        60_000,
        `${name} to serve v1 in ${groups.join(', ')}`,
      );
    }

    const invoke = async (path: string) => {
      const res = await fetch(daemon.serveUrl + path, {
        method: 'POST',
        body: '{"x": 1}',
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 200, path);
      return ((await res.json()) as { group: string }).group;
    };
    assert.equal(await invoke('/endpoints/other-pipeline/invocations'), 'default');
    assert.equal(await invoke(`/endpoints/forecast/groups/${encodeURIComponent(HOSTILE)}/invocations`), HOSTILE);
    assert.equal(await invoke('/endpoints/forecast/groups/london/invocations'), 'london');

    assert.deepEqual(
      readdirSync(around, { recursive: true, encoding: 'utf8' })
        .filter((p) => !p.startsWith('a/b/data/'))
        .sort(),
      ['a', 'a/b', 'a/b/data'],
    );
    assert.deepEqual(readdirSync(join(daemon.dataDir, 'artifacts', 'other-pipeline')), ['default']);
    assert.deepEqual(readdirSync(join(daemon.dataDir, 'artifacts', 'other-pipeline', 'default')), ['v1']);

    // The empty value is not a group, and the user is told which value and why.
    const forecast = (await pipelines(daemon)).forecast!;
    assert.deepEqual(forecast.groups, [HOSTILE, 'london']);
    assert.match(
      forecast.groupsError ?? '',
      /groups\.source warehouse\.cities: the value "" is not used as a group: a group name cannot be empty/,
    );
    const tail = await runCli('mlp', ['tail', 'forecast', '--since', '10m'], { env: daemon.clientEnv() });
    assert.equal(tail.code, 0, tail.stderr);
    assert.equal(tail.stdout.match(/warn: groups\.source warehouse\.cities: the value "" is not used as a group/g)?.length, 1, tail.stdout);
  });
});
