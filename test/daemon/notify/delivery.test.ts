/**
 * The delivery worker against a real local HTTP receiver and a real SQLite outbox: retries until a
 * 2xx and never after it, final 4xx, ${VAR} expanded only for the POST and never logged, pending
 * deliveries picked up by a new worker (a restarted daemon).
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { startDeliveryWorker, type DeliveryWorker } from '../../../daemon/notify/delivery.js';
import { createLogger } from '../../../daemon/log.js';
import type { RetryPolicy } from '../../../daemon/notify/retry.js';
import { createStorageHealth } from '../../../daemon/storage-health.js';
import type { Store } from '../../../daemon/store/db.js';
import { newEventId } from '../../../daemon/store/ids.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhook-receiver.js';
import { freshStore } from '../store/helpers.js';

const FAST: RetryPolicy = { delaysMs: [20, 40], giveUpAfterMs: 5_000 };

const until = async <T>(probe: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('the notification delivery worker', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  const setup = async (
    answers: number[],
    opts: { env?: Record<string, string>; retry?: RetryPolicy; store?: Store; receiver?: WebhookReceiver } = {},
  ) => {
    const receiver = opts.receiver ?? (await startWebhookReceiver(answers));
    if (!opts.receiver) cleanup.push(() => receiver.close());
    const store = opts.store ?? freshStore();
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    const storage = createStorageHealth({ log, file: store.file });
    const start = () => {
      const w = startDeliveryWorker({ store, storage, log, env: opts.env ?? {}, retry: opts.retry ?? FAST });
      cleanup.push(() => w.close());
      return w;
    };
    return { receiver, store, lines, start };
  };
  const queue = (store: Store, target: string, event = 'blocked' as const) => {
    const eventId = newEventId(Date.now());
    store.notifications.enqueue([
      { eventId, pipeline: 'shop', event, target, payload: { event, pipeline: 'shop', text: 'mlp: shop v3 was blocked' } },
    ]);
    return eventId;
  };

  it('retries a receiver that answers 500 twice, then delivers exactly once, with the event id and JSON', async () => {
    const { receiver, store, lines, start } = await setup([500, 500]);
    const eventId = queue(store, `${receiver.url}/hook`);
    const worker: DeliveryWorker = start();
    worker.poke();
    const row = await until(() => store.notifications.recent('shop', 1).find((n) => n.status !== 'pending'), 'the delivery');
    await new Promise((r) => setTimeout(r, 200)); // nothing more arrives after the 2xx
    assert.equal(row.status, 'delivered');
    assert.equal(row.attempts, 3);
    assert.deepEqual(
      receiver.posts.map((p) => p.status),
      [500, 500, 200],
    );
    for (const p of receiver.posts) {
      assert.equal(p.headers['x-mlp-event-id'], eventId, 'the same id on every retry');
      assert.equal(p.headers['content-type'], 'application/json');
      assert.equal(p.body.text, 'mlp: shop v3 was blocked');
    }
    assert.match(
      lines.join('\n'),
      /blocked → http:\/\/127\.0\.0\.1:\d+\/\*\*\* not delivered \(HTTP 500\): trying again in \d+ ms \(attempt 1\)/,
    );
    assert.match(lines.join('\n'), /blocked → http:\/\/127\.0\.0\.1:\d+\/\*\*\* delivered \(HTTP 200, attempt 3\)/);
  });

  it('does not retry a 404, and records why', async () => {
    const { receiver, store, lines, start } = await setup([404]);
    queue(store, `${receiver.url}/gone`);
    start();
    const row = await until(() => store.notifications.recent('shop', 1).find((n) => n.status !== 'pending'), 'the failure');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(receiver.posts.length, 1);
    assert.equal(row.status, 'failed');
    assert.equal(row.lastStatus, 404);
    assert.match(row.lastError!, /HTTP 404 \(an answer that is not 2xx, 408, 429 or 5xx is not retried\)/);
    assert.equal(store.notifications.recentFailures('shop', 5).length, 1);
    assert.match(lines.join('\n'), /error notify shop: blocked → http:\/\/127\.0\.0\.1:\d+\/\*\*\* failed: HTTP 404/);
  });

  it('gives up on an unreachable target once the retry window is over', async () => {
    const gone = await startWebhookReceiver();
    await gone.close(); // nothing listens on its port any more
    const { store, start } = await setup([], { retry: { delaysMs: [30], giveUpAfterMs: 200 } });
    queue(store, `${gone.url}/hook`);
    start();
    const row = await until(() => store.notifications.recent('shop', 1).find((n) => n.status !== 'pending'), 'giving up', 5_000);
    assert.equal(row.status, 'failed');
    assert.ok(row.attempts >= 3, `attempts: ${row.attempts}`);
    assert.match(row.lastError!, /^gave up after \d+ attempts over \d+ ms; the last: .*ECONNREFUSED/);
  });

  it('expands ${VAR} for the POST only: logs, the stored row and status never hold the secret', async () => {
    const receiver = await startWebhookReceiver();
    cleanup.push(() => receiver.close());
    const secret = 'T0SECRET/B0SECRET/xoxbsecrettoken';
    const { store, lines, start } = await setup([], { env: { HOOK_BASE: receiver.url, HOOK_PATH: secret }, receiver });
    queue(store, '${HOOK_BASE}/services/${HOOK_PATH}?token=${HOOK_PATH}');
    start();
    const row = await until(() => store.notifications.recent('shop', 1).find((n) => n.status === 'delivered'), 'the delivery');
    assert.equal(receiver.posts[0]!.path, `/services/${secret}?token=${secret}`, 'the receiver got the expanded URL');
    assert.equal(row.target, '${HOOK_BASE}/services/${HOOK_PATH}?token=${HOOK_PATH}');
    const logged = lines.join('\n');
    assert.ok(!logged.includes('SECRET'), logged);
    assert.match(logged, /blocked → http:\/\/127\.0\.0\.1:\d+\/services\/\*\*\*\?\*\*\* delivered/);
  });

  it('fails a target whose ${VAR} is not set, naming the variable', async () => {
    const { store, lines, start } = await setup([]);
    queue(store, '${SLACK_WEBHOOK_URL}');
    start();
    const row = await until(() => store.notifications.recent('shop', 1).find((n) => n.status !== 'pending'), 'the failure');
    assert.equal(row.status, 'failed');
    assert.equal(row.lastError, "${SLACK_WEBHOOK_URL} is not set in mlpd's environment (set it where mlpd starts, then restart mlpd)");
    assert.match(lines.join('\n'), /blocked → \$\{SLACK_WEBHOOK_URL\} failed: \$\{SLACK_WEBHOOK_URL\} is not set/);
  });

  it('delivers what an earlier worker left pending, once', async () => {
    const { receiver, store, start } = await setup([503]);
    queue(store, `${receiver.url}/hook`);
    const first = start();
    await until(() => (store.notifications.recent('shop', 1)[0]!.attempts === 1 ? true : undefined), 'the first attempt');
    await first.close(); // the daemon stops with the delivery pending
    assert.equal(store.notifications.recent('shop', 1)[0]!.status, 'pending');
    start();
    await until(() => store.notifications.recent('shop', 1).find((n) => n.status === 'delivered'), 'the delivery after the restart');
    await new Promise((r) => setTimeout(r, 150));
    assert.deepEqual(
      receiver.posts.map((p) => p.status),
      [503, 200],
    );
  });

  it('stops at once when mlpd stops, leaving a POST that hangs pending for the next start', async () => {
    let asked = 0;
    const hanging = createServer(() => void asked++); // takes the request, never answers
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => {
      hanging.closeAllConnections();
      hanging.close();
    });
    const { store, start } = await setup([]);
    queue(store, `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hook`);
    const worker = start();
    await until(() => (asked ? true : undefined), 'the POST to arrive');
    const stopping = Date.now();
    await worker.close();
    assert.ok(Date.now() - stopping < 2_000, 'close does not wait for the receiver');
    const row = store.notifications.recent('shop', 1)[0]!;
    assert.equal(row.status, 'pending');
    assert.match(row.lastError!, /mlpd stopped while it was sending/);
  });
});
