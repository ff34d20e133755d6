/**
 * The router on several processes (--serve-workers 2), through a real mlpd and a gated rollout:
 * traffic splits by weight across both workers, Data Capture from every worker is read back whole,
 * live metrics count every worker's requests, a killed worker comes back with the routes in force,
 * and a rollback's 0% holds on every worker from the moment the rollout records it.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readCapture } from '../../daemon/serving/capture/reader.js';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { GATED_IT_PY, GATED_SERVE_PY, GATED_TRAIN_PY } from '../helpers/gated-pipeline.js';
import { pipelineRepo } from '../helpers/pipelines.js';
import { isAlive } from '../helpers/processes.js';

const PIPELINE = `pipeline:
  name: shop
  serve:
    timeout_seconds: 5
  deployment:
    integration_tests: python3 it.py
    rollout:
      initial_traffic: 50
      step_percent: 25
      step_interval_minutes: 2
    rollback:
      on_error_rate_above: 0.1
      min_requests: 20
    replay:
      requests: 50
`;

interface VariantJson {
  group: string;
  variant: string;
  role: string;
  weight: number;
  metrics: { total: { requests: number; errors: number } } | null;
}
interface RolloutJson {
  id: number;
  phase: string;
  candidateWeight: number;
  decisions: { rule: string; verdict: string }[];
}
interface PipelineJson {
  current: { version: string } | null;
  rollout: RolloutJson | null;
  variants: VariantJson[];
}

interface Answer {
  status: number;
  variant: string | null;
  worker: string;
}

/** Every request on a connection of its own, so the kernel spreads them over the workers' accepts. */
const fresh = new Agent({ keepAlive: false });

describe('router workers (--serve-workers 2)', () => {
  let d: TestDaemon;
  let repo: string;

  const status = async (): Promise<PipelineJson> => {
    const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { pipelines: PipelineJson[] }).pipelines[0]!;
  };
  const invoke = (x: number) =>
    new Promise<Answer>((resolve, reject) => {
      const body = JSON.stringify({ x });
      const req = request(
        `${d.serveUrl}/endpoints/shop/invocations`,
        { method: 'POST', agent: fresh, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({
              status: res.statusCode!,
              variant: (res.headers['x-mlp-variant'] as string | undefined) ?? null,
              // A router's inference ids start with its own random prefix: which worker answered.
              worker: String(res.headers['x-mlp-inference-id']).split('-')[0]!,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  /** `count` requests, `concurrency` at a time, x from `from` upwards. */
  const burst = async (from: number, count: number, concurrency = 8): Promise<Answer[]> => {
    const answers: Answer[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) answers.push(await invoke(from + next++));
      }),
    );
    return answers;
  };
  const count = (answers: Answer[], variant: string) => answers.filter((a) => a.variant === variant).length;
  const workerPids = () =>
    readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .filter((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
          const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
          return ppid === d.proc.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('serving/router/worker.');
        } catch {
          return false;
        }
      })
      .map(Number);

  let sent = 0;
  let group = '';
  before(async () => {
    repo = pipelineRepo({
      pipelineYaml: PIPELINE,
      extra: { 'forecast/train.py': GATED_TRAIN_PY, 'forecast/serve.py': GATED_SERVE_PY, 'forecast/it.py': GATED_IT_PY },
    });
    d = await startTestDaemon({ repo, args: ['--time-scale', '60', '--serve-workers', '2'] });
    assert.equal((await runCli('mlp', ['deploy', 'shop'], { env: d.clientEnv() })).code, 0);
    const p = await eventually(
      async () => {
        const s = await status();
        return s.current?.version === 'v1' && s.variants.length === 1 ? s : undefined;
      },
      60_000,
      'v1 to serve',
    );
    group = p.variants[0]!.group;
  });
  after(async () => {
    await d?.stop();
  });

  it('runs two worker processes, and every request on any of them is captured and counted', async () => {
    assert.equal(workerPids().length, 2);
    const answers = await burst(1, 200);
    sent += answers.length;
    assert.ok(answers.every((a) => a.status === 200 && a.variant === 'v1'));
    assert.equal(new Set(answers.map((a) => a.worker)).size, 2, 'both workers answered');
    // Metrics from both workers are merged into the daemon's: none lost.
    await eventually(
      async () => ((await status()).variants[0]!.metrics?.total.requests === sent ? true : undefined),
      10_000,
      `metrics to count ${sent} requests`,
    );
    // Each worker writes its own capture files; replay's reader finds every record.
    await eventually(
      async () => {
        let n = 0;
        for await (const _ of readCapture({ dir: join(d.dataDir, 'capture'), pipeline: 'shop', group, sinceMs: 0, limit: 10_000 })) n++;
        return n === sent ? true : undefined;
      },
      10_000,
      `capture to hold ${sent} records`,
    );
  });

  it('splits by weight on every worker, restarts a killed worker with the routes in force, and a rollback holds on all of them at once', async () => {
    // v2 fails for x >= 100,000 only: it passes replay on captured traffic, then fails live.
    writeFileSync(join(repo, 'forecast/behaviour.json'), JSON.stringify({ fail_above: 100_000 }));
    assert.equal((await runCli('mlp', ['deploy', 'shop'], { env: d.clientEnv() })).code, 0);
    await eventually(
      async () => {
        const ro = (await status()).rollout;
        if (ro?.phase !== 'shifting' || ro.candidateWeight !== 50) return undefined;
        const paused = await runCli('mlp', ['pause', 'shop'], { env: d.clientEnv() });
        assert.equal(paused.code, 0, paused.stderr);
        return true;
      },
      60_000,
      'the shift to reach 50%',
    );
    assert.equal((await status()).rollout?.candidateWeight, 50, 'paused at 50%');

    // Each worker alternates 50/50 (smooth weighted round-robin): the whole split is off by one per worker at most.
    const split = await burst(1, 200);
    sent += split.length;
    assert.ok(split.every((a) => a.status === 200));
    assert.ok(Math.abs(count(split, 'v1') - count(split, 'v2')) <= 2, `v1 ${count(split, 'v1')} / v2 ${count(split, 'v2')}`);

    const [killed] = workerPids();
    process.kill(killed!, 'SIGKILL');
    await d.waitForLog(/router worker \d \(pid \d+\) exited \(SIGKILL\).*starting it again/);
    await d.waitForLog(/router worker \d \(pid \d+\) is back, with the routes in force/);
    assert.equal(workerPids().length, 2);
    assert.ok(!workerPids().includes(killed!));
    assert.ok(!isAlive(killed!));
    const again = await burst(1, 200);
    sent += again.length;
    assert.ok(again.every((a) => a.status === 200));
    assert.equal(new Set(again.map((a) => a.worker)).size, 2, 'both workers answered, the new one too');
    assert.ok(
      Math.abs(count(again, 'v1') - count(again, 'v2')) <= 2,
      `after the restart: v1 ${count(again, 'v1')} / v2 ${count(again, 'v2')}`,
    );

    // Live traffic that v2 fails: the errors arrive on both workers, the watch sees them merged.
    let x = 100_000;
    const seen: Answer[] = [];
    await eventually(
      async () => {
        const answers = await burst(x, 40);
        x += 40;
        seen.push(...answers);
        const ro = (await status()).rollout;
        return ro?.phase === 'rolled_back' ? ro : undefined;
      },
      60_000,
      'the rollback',
    );
    // Recorded: from now on no worker may send a request to v2.
    const afterRollback = await burst(x, 200);
    assert.equal(count(afterRollback, 'v2'), 0, 'no candidate answer after the rollback was recorded');
    assert.ok(afterRollback.every((a) => a.status === 200));
    assert.equal(new Set(afterRollback.map((a) => a.worker)).size, 2);
    assert.equal(new Set(seen.filter((a) => a.status >= 500).map((a) => a.worker)).size, 2, 'errors arrived on both workers');
    const ro = (await status()).rollout!;
    assert.equal(ro.candidateWeight, 0);
    assert.equal(ro.decisions.find((dd) => dd.verdict === 'rollback')?.rule, 'error_rate');
  });
});
