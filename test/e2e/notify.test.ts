/**
 * Notifications (issue #16) from a real daemon to real local HTTP receivers: a rollout blocked by
 * replay and one rolled back under live traffic each deliver one event with the context a person
 * needs; a receiver answering 500 twice gets the event once; a failed run's event that was pending
 * when the daemon was killed (-9) is delivered after the restart, once; the secret in `${VAR}` is
 * never in the daemon's log, `mlp tail` or `mlp status`; a bad URL is a positioned config error.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { eventually, startTestDaemon, type TestDaemon } from '../helpers/daemon.js';
import { GATED_IT_PY, GATED_SERVE_PY, GATED_TRAIN_PY } from '../helpers/gated-pipeline.js';
import { pipelineRepo } from '../helpers/pipelines.js';
import { startWebhookReceiver, type ReceivedPost, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const SECRET = 'T0TEAM/B0HOOK/s3cretTokenValue';

const PIPELINE = `pipeline:
  name: shop
  serve:
    timeout_seconds: 5
  deployment:
    integration_tests: python3 it.py
    rollout:
      initial_traffic: 0
      step_percent: 25
      step_interval_minutes: 2
    rollback:
      on_error_rate_above: 0.1
      min_requests: 20
    replay:
      requests: 200
  notify:
    - url: \${HOOK_BASE}/services/\${HOOK_SECRET}
      on: [blocked, rolled_back, failed, promoted, paused, run_failed]
`;

interface RolloutJson {
  id: number;
  phase: string;
  candidateWeight: number;
}
interface NotificationJson {
  eventId: string;
  event: string;
  target: string;
  status: string;
  attempts: number;
  lastStatus: number | null;
  text: string;
}
interface PipelineJson {
  rollout: RolloutJson | null;
  notifications: {
    targets: { target: string; on: string[]; problem: string | null }[];
    recent: NotificationJson[];
    failures: NotificationJson[];
  };
}

describe('notifications', () => {
  let d: TestDaemon;
  let repo: string;
  let hook: WebhookReceiver;
  let team: WebhookReceiver;
  let env: Record<string, string>;

  const status = async (): Promise<PipelineJson> => {
    const r = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { pipelines: PipelineJson[] }).pipelines[0]!;
  };
  const invoke = (x: number) =>
    fetch(`${d.serveUrl}/endpoints/shop/invocations`, {
      method: 'POST',
      body: JSON.stringify({ x }),
      headers: { 'content-type': 'application/json' },
    });
  const traffic = (from: number) => {
    let running = true;
    const loop = (async () => {
      for (let x = from; running; x++)
        await invoke(x)
          .then((r) => r.arrayBuffer())
          .catch(() => null);
    })();
    return { stop: async () => ((running = false), await loop) };
  };
  const deploy = async (behaviour: unknown, opts: { during?: () => Promise<void> } = {}): Promise<RolloutJson> => {
    writeFileSync(join(repo, 'forecast/behaviour.json'), typeof behaviour === 'string' ? behaviour : JSON.stringify(behaviour));
    const before = (await status()).rollout?.id ?? 0;
    const r = await runCli('mlp', ['deploy', 'shop'], { env: d.clientEnv() });
    assert.equal(r.code, 0, r.stderr);
    let hooked = false;
    return eventually(
      async () => {
        const ro = (await status()).rollout;
        if (!ro || ro.id === before) return undefined;
        if (!hooked && opts.during && ro.phase === 'shifting' && ro.candidateWeight > 0) {
          hooked = true;
          await opts.during();
        }
        return ['promoted', 'blocked', 'rolled_back', 'failed'].includes(ro.phase) ? ro : undefined;
      },
      60_000,
      'the rollout to end',
    );
  };
  /** Posts of one event that the receiver answered 2xx. */
  const delivered = (r: WebhookReceiver, event: string): ReceivedPost[] => r.posts.filter((p) => p.body.event === event && p.status < 300);
  const waitDelivered = (r: WebhookReceiver, event: string) =>
    eventually(() => (delivered(r, event).length ? delivered(r, event) : undefined), 20_000, `a delivered ${event} event`);

  before(async () => {
    hook = await startWebhookReceiver();
    team = await startWebhookReceiver();
    repo = pipelineRepo({
      pipelineYaml: PIPELINE,
      extra: {
        'mlp.yaml': `notify:\n  - url: ${team.url}/team\n    on: [blocked]\n`,
        'forecast/train.py': GATED_TRAIN_PY,
        'forecast/serve.py': GATED_SERVE_PY,
        'forecast/it.py': GATED_IT_PY,
      },
    });
    env = { HOOK_BASE: hook.url, HOOK_SECRET: SECRET };
    d = await startTestDaemon({ repo, args: ['--time-scale', '60'], env });
  });
  after(async () => {
    await d?.stop();
    await hook?.close();
    await team?.close();
  });

  it('tells a promotion to the targets that asked for it, and the first version goes live', async () => {
    const r = await deploy({});
    assert.equal(r.phase, 'promoted');
    const [post] = await waitDelivered(hook, 'promoted');
    assert.equal(post!.path, `/services/${SECRET}`, 'the URL was expanded from the daemon environment');
    assert.equal(post!.body.version, 'v1');
    assert.equal(
      post!.body.text,
      'mlp: shop v1 is live on all traffic: first version: there is no current model, so replay and the gradual shift are skipped and it goes live at 100%',
    );
    assert.equal(delivered(team, 'promoted').length, 0, "mlp.yaml's target listens to blocked only");
    for (let x = 1; x <= 60; x++) assert.equal((await invoke(x)).status, 200); // captured traffic for replay
  });

  it('a blocked rollout delivers one blocked event with the failing requests, exactly once through two 500s', async () => {
    hook.answers.push(500, 500);
    const live = traffic(3000);
    const r = await deploy({ fail_mod: 7 });
    await live.stop();
    assert.equal(r.phase, 'blocked');
    const [post] = await waitDelivered(hook, 'blocked');
    const tries = hook.posts.filter((p) => p.body.event === 'blocked');
    assert.deepEqual(
      tries.map((p) => p.status),
      [500, 500, 200],
      'retried after two 500s, then never again',
    );
    assert.ok(
      tries.every((p) => p.headers['x-mlp-event-id'] === post!.headers['x-mlp-event-id']),
      'one event id for every try',
    );
    assert.equal(post!.headers['content-type'], 'application/json');
    const body = post!.body;
    assert.deepEqual(
      Object.keys(body).sort(),
      ['at', 'decision', 'event', 'groups', 'phase', 'pipeline', 'reason', 'rollout', 'text', 'version'].sort(),
    );
    assert.equal(body.pipeline, 'shop');
    assert.equal(body.rollout, r.id);
    assert.equal(body.version, 'v2');
    assert.deepEqual(body.groups, ['default']);
    assert.equal(body.phase, 'blocked');
    assert.equal(body.decision.rule, 'replay');
    assert.equal(body.decision.verdict, 'block');
    assert.match(body.reason, /^\d+ of \d+ requests that worked on v1 fail on v2 \(first: HTTP 500 \{"error": ?"boom"\}\)/);
    assert.match(body.reason, /failing requests:\n- \{"x":\d+\} → HTTP 500 \{"error": ?"boom"\} \(current: HTTP 200\)/);
    assert.match(body.text, /^mlp: shop v2 was blocked by replay \(v1 keeps serving\): \d+ of \d+ requests that worked on v1 fail on v2/);
    assert.ok(!Number.isNaN(Date.parse(body.at)));
    // mlp.yaml's target heard it too, once.
    const teamPosts = await waitDelivered(team, 'blocked');
    assert.equal(teamPosts.length, 1);
    assert.equal(teamPosts[0]!.headers['x-mlp-event-id'], post!.headers['x-mlp-event-id']);

    const n = await eventually(
      async () =>
        (await status()).notifications.recent.find(
          (x) => x.event === 'blocked' && x.status === 'delivered' && x.target.includes('/services/'),
        ),
      10_000,
      'status to show the delivery',
    );
    assert.equal(n.attempts, 3);
    assert.equal(n.lastStatus, 200);
    assert.match(n.target, /^http:\/\/127\.0\.0\.1:\d+\/services\/\*\*\*$/);
  });

  it('a rollback under live traffic delivers rolled_back naming the error rate and threshold (and the pause before it), once', async () => {
    let live: { stop: () => Promise<void> } | undefined;
    const r = await deploy(
      { fail_above: 100_000 },
      {
        during: async () => {
          const paused = await runCli('mlp', ['pause', 'shop'], { env: d.clientEnv() });
          assert.equal(paused.code, 0, paused.stderr);
          live = traffic(100_000);
        },
      },
    );
    await live?.stop();
    assert.equal(r.phase, 'rolled_back');
    const [paused] = await waitDelivered(hook, 'paused');
    assert.match(paused!.body.text, /^mlp: the rollout of shop v3 is paused at 25%: paused by \S+ at 25% traffic$/);
    const [post] = await waitDelivered(hook, 'rolled_back');
    const body = post!.body;
    assert.equal(body.decision.rule, 'error_rate');
    assert.equal(body.decision.threshold, 0.1);
    assert.ok(body.decision.observed > 0.1);
    assert.ok(body.decision.sample.requests >= 20);
    assert.match(body.reason, /^error rate [\d.]+% on default \(\d+ of the \d+ requests of the .+ window\) is above 10%: rolling back$/);
    assert.match(body.text, /^mlp: shop v3 was rolled back \(v1 serves all traffic\): error rate [\d.]+% .* is above 10%/);
    assert.equal(delivered(hook, 'rolled_back').length, 1);
  });

  it('never logs the secret: the daemon log, mlp tail and mlp status name the target redacted', async () => {
    const tail = await runCli('mlp', ['tail', 'shop', '--since', '1h'], { env: d.clientEnv() });
    assert.equal(tail.code, 0, tail.stderr);
    assert.match(tail.stdout, /blocked → http:\/\/127\.0\.0\.1:\d+\/services\/\*\*\* delivered \(HTTP 200, attempt 3\)/);
    assert.match(tail.stdout, /blocked → http:\/\/127\.0\.0\.1:\d+\/services\/\*\*\* not delivered \(HTTP 500\): trying again in/);
    const text = await runCli('mlp', ['status', 'shop'], { env: d.clientEnv() });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /notifications: .*rolled_back → http:\/\/127\.0\.0\.1:\d+\/services\/\*\*\* delivered/s);
    const json = await runCli('mlp', ['status', '--json'], { env: d.clientEnv() });
    for (const out of [d.stderr(), tail.stdout, text.stdout, json.stdout])
      assert.ok(!out.includes('s3cretToken'), 'the secret is never shown');
  });

  it('a failed run pending when the daemon is killed with -9 is delivered after the restart, once', async () => {
    hook.answers.push(...Array<number>(1000).fill(503));
    writeFileSync(join(repo, 'forecast/behaviour.json'), 'not json');
    const deployed = await runCli('mlp', ['deploy', 'shop'], { env: d.clientEnv() });
    assert.equal(deployed.code, 0, deployed.stderr);
    await eventually(
      () => (hook.posts.some((p) => p.body.event === 'run_failed') ? true : undefined),
      60_000,
      'a first attempt at run_failed',
    );
    await d.stop('SIGKILL');
    hook.answers.length = 0;
    d = await startTestDaemon({ repo, dataDir: d.dataDir, args: ['--time-scale', '60'], env });
    const [post] = await waitDelivered(hook, 'run_failed');
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(delivered(hook, 'run_failed').length, 1, 'delivered once');
    const tries = hook.posts.filter((p) => p.body.event === 'run_failed');
    assert.ok(tries.every((p) => p.headers['x-mlp-event-id'] === post!.headers['x-mlp-event-id']));
    const body = post!.body;
    assert.equal(body.rollout, null);
    assert.deepEqual(body.groups, ['default']);
    assert.match(body.text, /^mlp: shop run r-\S+ \(manual\) failed at step train of default: /);
    assert.match(body.reason, /JSONDecodeError/, 'the last lines of the output');
    assert.equal(body.run.failures[0].step, 'train');
  });
});

describe('a bad notify URL', () => {
  it('is a positioned config error in mlp validate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlp-notify-'));
    writeFileSync(
      join(dir, 'pipeline.yaml'),
      'pipeline:\n  name: shop\n  notify:\n    - url: hooks.slack.com/services/T0/B0/x\n      on: [blocked]\n',
    );
    const r = await runCli('mlp', ['validate', join(dir, 'pipeline.yaml')]);
    assert.equal(r.code, 1);
    assert.match(r.stdout + r.stderr, /pipeline\.yaml:4:12: url is not a URL \(expected 'https:\/\/host\/path'\), got '\*\*\*'/);
  });
});
