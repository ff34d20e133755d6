/** `--pull INTERVAL`: merging to the upstream branch is the deployment. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { copyExampleRepo } from '../helpers/repo.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 't',
      GIT_AUTHOR_EMAIL: 't@example.com',
      GIT_COMMITTER_NAME: 't',
      GIT_COMMITTER_EMAIL: 't@example.com',
    },
  });

describe('mlpd start --pull', () => {
  let d: TestDaemon | undefined;
  after(async () => {
    await d?.stop();
  });

  it('fast-forwards the clone from its upstream and picks up the merged change', async () => {
    const base = mkdtempSync(join(tmpdir(), 'mlp-git-'));
    const remote = join(base, 'remote.git');
    git(base, 'init', '--bare', '--initial-branch=main', remote);
    const author = copyExampleRepo();
    git(author, 'init', '--initial-branch=main');
    git(author, 'add', '.');
    git(author, 'commit', '-qm', 'pipelines');
    git(author, 'remote', 'add', 'origin', remote);
    git(author, 'push', '-q', '-u', 'origin', 'main');
    const server = join(base, 'server');
    git(base, 'clone', '-q', remote, server);

    d = await startTestDaemon({ repo: server, args: ['--pull', '1s'] });
    const file = join(author, 'demand-forecast/pipeline.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"0 2 * * 1"', '"15 4 * * *"'));
    git(author, 'commit', '-qam', 'retrain daily');
    git(author, 'push', '-q');

    await eventually(
      async () => {
        const r = await runCli('mlp', ['status', '--json'], { env: d!.clientEnv() });
        const s = JSON.parse(r.stdout) as { pipelines: { schedule: string }[] };
        return s.pipelines[0]?.schedule === '15 4 * * *' ? true : undefined;
      },
      8000,
      'the pushed schedule',
    );
    assert.match(d.stderr(), /fast-forwarded [0-9a-f]{8}\.\.[0-9a-f]{8} \(1 file changed\)/);
    assert.equal(git(server, 'rev-parse', 'HEAD'), git(author, 'rev-parse', 'HEAD'));

    // The merged change queues a run of the pipeline it touched, which trains every group.
    const run = await eventually(
      async () => {
        const r = await runCli('mlp', ['status', '--json'], { env: d!.clientEnv() });
        const s = JSON.parse(r.stdout) as { pipelines: { runs: { trigger: string; status: string; gitCommit: string }[] }[] };
        const change = s.pipelines[0]!.runs.find((x) => x.trigger === 'change');
        return change && change.status !== 'queued' && change.status !== 'running' ? change : undefined;
      },
      20_000,
      'the run of the merged change',
    );
    assert.equal(run.status, 'succeeded');
    assert.equal(run.gitCommit, git(author, 'rev-parse', 'HEAD').trim());
  });

  it('refuses --pull on a folder that is not a git clone (exit 2)', async () => {
    const r = await runCli('mlpd', [
      'start',
      '--repo',
      copyExampleRepo(),
      '--data-dir',
      mkdtempSync(join(tmpdir(), 'mlp-data-')),
      '--port',
      '0',
      '--serve-port',
      '0',
      '--pull',
      '1s',
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--pull: .* is not a git clone/);
  });
});
