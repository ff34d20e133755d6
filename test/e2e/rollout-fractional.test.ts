/**
 * Fractional rollout steps (issue 9, item 7): `step_percent: 12.5` validates and rolls out. Against
 * the real daemon (--time-scale 60, so a step is 3 s): the candidate gets 12.5% of the traffic
 * (paused there, the router splits 800 requests close to 1 in 8), `mlp status` says 12.5%, and after
 * a resume the shift goes 25, 37.5, ... to promoted.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { GATED_SERVE_PY, GATED_TRAIN_PY } from '../helpers/gated-pipeline.js';
import { pipelineRepo } from '../helpers/pipelines.js';

const PIPELINE = `pipeline:
  name: shop
  deployment:
    rollout:
      step_percent: 12.5
      step_interval_minutes: 3
    rollback:
      min_requests: 1000
`;

interface RolloutJson {
  id: number;
  phase: string;
  candidateVersion: string;
  candidateWeight: number;
  decisions: { rule: string; verdict: string; observed: unknown }[];
}

describe('a rollout in steps of 12.5%', () => {
  let d: TestDaemon;
  before(async () => {
    const repo = pipelineRepo({
      pipelineYaml: PIPELINE,
      extra: { 'forecast/train.py': GATED_TRAIN_PY, 'forecast/serve.py': GATED_SERVE_PY },
    });
    writeFileSync(join(repo, 'forecast/behaviour.json'), '{}');
    d = await startTestDaemon({ repo, args: ['--time-scale', '60'] });
  });
  after(async () => {
    await d?.stop();
  });

  const rollout = async (): Promise<RolloutJson | null> => {
    const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { pipelines: { rollout: RolloutJson | null }[] }).pipelines[0]!.rollout;
  };
  const deploy = async () => assert.equal((await runCli('mlp', ['deploy', 'shop'], { env: d.clientEnv() })).code, 0);

  it('splits the traffic 87.5/12.5 and shifts 12.5 → 25 → ... → promoted', async () => {
    await deploy();
    await eventually(async () => ((await rollout())?.phase === 'promoted' ? true : undefined), 60_000, 'v1 to go live');

    await deploy();
    await eventually(
      async () => {
        const r = await rollout();
        return r?.candidateVersion === 'v2' && r.phase === 'shifting' ? r : undefined;
      },
      60_000,
      'v2 to start shifting',
    );
    const pause = await runCli('mlp', ['pause', 'shop'], { env: d.clientEnv() });
    assert.equal(pause.code, 0, pause.stderr);
    const paused = (await rollout())!;
    assert.equal(paused.phase, 'paused');
    // The first step lasts 3 s, time enough to pause there; a machine too busy for that pauses one step on.
    const weight = paused.candidateWeight;
    assert.ok([12.5, 25, 37.5, 50, 62.5, 75, 87.5].includes(weight), `paused at a step of 12.5%: ${weight}`);
    assert.match((await runCli('mlp', ['status'], { env: d.clientEnv() })).stdout, new RegExp(`paused \\(from shifting\\) at ${weight}%`));

    const answeredBy: Record<string, number> = {};
    for (let x = 0; x < 800; x++) {
      const res = await fetch(`${d.serveUrl}/endpoints/shop/invocations`, {
        method: 'POST',
        body: JSON.stringify({ x }),
        headers: { 'content-type': 'application/json' },
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      const v = res.headers.get('x-mlp-variant')!;
      answeredBy[v] = (answeredBy[v] ?? 0) + 1;
    }
    assert.ok(
      Math.abs((answeredBy.v2 ?? 0) - weight * 8) <= 2,
      `${weight}% of 800 requests to the candidate (1 in 8 at 12.5%): ${JSON.stringify(answeredBy)}`,
    );

    assert.equal((await runCli('mlp', ['resume', 'shop'], { env: d.clientEnv() })).code, 0);
    const done = await eventually(
      async () => {
        const r = await rollout();
        return r?.phase === 'promoted' ? r : undefined;
      },
      60_000,
      'v2 to be promoted',
    );
    assert.equal(done.candidateWeight, 100);
    const steps = done.decisions.filter((x) => x.rule === 'step').map((x) => x.observed);
    assert.deepEqual(steps, [12.5, 25, 37.5, 50, 62.5, 75, 87.5, 100]);
  });
});
