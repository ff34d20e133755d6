/** A pipeline's notifications in `mlp status` and the TUI's pipeline view: deliveries, failures, a target that cannot work. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NotificationView, NotificationsView } from '../../shared/protocol.js';
import { formatStatus } from '../../tui/commands/status.js';
import { blockedByReplay, fullSnapshot, NOW, pipeline } from './fixtures.js';
import { KEY, renderTui } from './render.js';

const SLACK = 'https://hooks.slack.com/services/***';

const delivery = (over: Partial<NotificationView> = {}): NotificationView => ({
  eventId: 'e-1',
  event: 'blocked',
  target: SLACK,
  status: 'delivered',
  attempts: 1,
  lastStatus: 200,
  lastError: null,
  createdAt: NOW - 60_000,
  lastAttemptAt: NOW - 60_000,
  nextAttemptAt: null,
  finishedAt: NOW - 60_000,
  text: 'mlp: pricing v3 was blocked by replay',
  ...over,
});

const notifications = (over: Partial<NotificationsView> = {}): NotificationsView => ({
  targets: [{ target: SLACK, on: ['blocked', 'rolled_back'], problem: null }],
  recent: [],
  failures: [],
  ...over,
});

test('mlp status <pipeline> lists the targets and the last deliveries; mlp status shows only what failed', () => {
  const failed = delivery({
    eventId: 'e-2',
    event: 'rolled_back',
    status: 'failed',
    lastStatus: 404,
    lastError: 'HTTP 404 (an answer that is not 2xx, 408, 429 or 5xx is not retried)',
    finishedAt: NOW - 30_000,
  });
  const p = pipeline('pricing', { notifications: notifications({ recent: [failed, delivery({ attempts: 3 })], failures: [failed] }) });
  const detail = formatStatus(fullSnapshot([p]), { detail: true });
  assert.match(detail, /^pricing: notifications: 1 target$/m);
  assert.match(detail, /^ {2}https:\/\/hooks\.slack\.com\/services\/\*\*\* on blocked, rolled_back$/m);
  assert.match(detail, /^ {2}\d\d:\d\d:\d\d blocked → https:\/\/hooks\.slack\.com\/services\/\*\*\* delivered \(HTTP 200, attempt 3\)$/m);
  assert.match(detail, /rolled_back → https:\/\/hooks\.slack\.com\/services\/\*\*\* failed: HTTP 404/);
  const overview = formatStatus(fullSnapshot([p]));
  assert.match(overview, /^pricing: notification 30s ago: rolled_back → https:\/\/hooks\.slack\.com\/services\/\*\*\* failed: HTTP 404/m);
  assert.doesNotMatch(overview, /delivered/);
});

test('a target whose ${VAR} is not set is said in mlp status and in red in the pipeline view', async () => {
  const problem = "${SLACK_WEBHOOK_URL} is not set in mlpd's environment: deliveries to it fail until mlpd is started with it";
  const p = blockedByReplay('pricing');
  p.notifications = notifications({ targets: [{ target: '${SLACK_WEBHOOK_URL}', on: ['blocked'], problem }] });
  assert.match(
    formatStatus(fullSnapshot([p])),
    /^pricing: notify target \$\{SLACK_WEBHOOK_URL\}: \$\{SLACK_WEBHOOK_URL\} is not set in mlpd's environment/m,
  );
  const t = renderTui([p], { columns: 160 });
  await t.press(KEY.enter);
  assert.match(t.frame(), /notify: notify target \$\{SLACK_WEBHOOK_URL\}: \$\{SLACK_WEBHOOK_URL\} is not set/);
  t.unmount();
});

test('the pipeline view shows the last delivery, and a retry that is under way', async () => {
  const p = blockedByReplay('pricing');
  p.notifications = notifications({ recent: [delivery()] });
  const t = renderTui([p], { columns: 160 });
  await t.press(KEY.enter);
  assert.match(t.frame(), /notify: blocked → https:\/\/hooks\.slack\.com\/services\/\*\*\* delivered \(HTTP 200\) · 1m ago/);
  const retrying = blockedByReplay('pricing');
  retrying.notifications = notifications({
    recent: [
      delivery({ status: 'pending', attempts: 2, lastStatus: 503, lastError: 'HTTP 503', finishedAt: null, nextAttemptAt: NOW + 4_000 }),
    ],
  });
  t.store.dispatch({ type: 'event', event: { kind: 'pipeline_updated', pipeline: retrying } });
  await new Promise((r) => setTimeout(r, 50));
  assert.match(
    t.frame(),
    /notify: blocked → https:\/\/hooks\.slack\.com\/services\/\*\*\* not delivered yet \(HTTP 503, attempt 2, next try in 4s\)/,
  );
  t.unmount();
});
