import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DaemonConnection } from '../../tui/client.js';
import { startLive } from '../../tui/live.js';
import { createFleetStore } from '../../tui/state/store.js';
import type { DaemonEvent } from '../../shared/protocol.js';
import { summaryOf } from '../../shared/fleet-summary.js';
import { fullSnapshot, pipeline, shifting, snapshot } from './fixtures.js';

/** A connection the test drives: events, a close, what the client sent. */
function fakeConnection(pipelines = [pipeline('a')], role: 'viewer' | 'operator' = 'operator') {
  let close!: (reason: string) => void;
  const listeners = new Set<(e: DaemonEvent) => void>();
  const calls: string[] = [];
  const conn: DaemonConnection = {
    url: 'ws://fake',
    hello: {
      type: 'hello',
      protocol: 2,
      daemon: { version: '0.1.0', startedAt: 0, serveUrl: 'http://fake' },
      session: { token: 't', role },
    },
    snapshot: snapshot(pipelines),
    status: async () => snapshot(pipelines),
    fullStatus: async () => fullSnapshot(pipelines),
    subscribe: async (p) => (calls.push(`subscribe ${p}`), pipelines.find((x) => x.name === p)!),
    unsubscribe: (p) => void calls.push(`unsubscribe ${p}`),
    tail: async (p, o) => (calls.push(`tail ${p} follow=${o.follow}`), []),
    unfollow: (p) => void calls.push(`unfollow ${p}`),
    command: async (c) => (calls.push(`${c.command} ${c.pipeline}`), { message: `${c.command} ${c.pipeline}: done` }),
    onEvent: (l) => (listeners.add(l), () => listeners.delete(l)),
    closed: new Promise((resolve) => (close = resolve)),
    close: () => close('client done'),
  };
  return { conn, calls, emit: (e: DaemonEvent) => listeners.forEach((l) => l(e)), drop: (reason: string) => close(reason) };
}

const until = async (check: () => boolean, ms = 2_000) => {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('live: snapshot then events into the store; on a drop it says so, retries with backoff, resyncs, follows and subscribes again', async () => {
  const store = createFleetStore();
  const first = fakeConnection([pipeline('a')]);
  const second = fakeConnection([shifting('a'), pipeline('b')]);
  const attempts: number[] = [];
  const plan: Array<() => Promise<DaemonConnection>> = [
    async () => first.conn,
    async () => Promise.reject(new Error('cannot reach mlpd: connection refused')),
    async () => second.conn,
  ];
  const live = startLive({ store, initialDelayMs: 20, connect: () => (attempts.push(Date.now()), plan.shift()!()) });
  try {
    await until(() => store.getState().connection.status === 'connected');
    assert.deepEqual(
      store.getState().pipelines.map((p) => p.name),
      ['a'],
    );
    first.emit({ kind: 'fleet', at: 0, pipelines: [summaryOf(pipeline('c'))] });
    assert.deepEqual(
      store.getState().pipelines.map((p) => p.name),
      ['a', 'c'],
    );
    live.followLogs('a');
    live.watch('a');
    await until(() => store.getState().details.a !== undefined);
    assert.equal(await live.command('pause', 'a'), 'pause a: done');

    first.drop('mlpd stopped');
    await until(() => store.getState().connection.status === 'disconnected');
    assert.match(JSON.stringify(store.getState().connection), /mlpd stopped/);
    await until(() => attempts.length === 2);
    await until(() => store.getState().connection.status === 'disconnected' && /refused/.test(JSON.stringify(store.getState().connection)));
    await until(() => store.getState().connection.status === 'connected');
    assert.deepEqual(
      store.getState().pipelines.map((p) => [p.name, p.rollout?.phase ?? null]),
      [
        ['a', 'shifting'],
        ['b', null],
      ],
    );
    assert.ok(attempts[2]! - attempts[1]! >= 35, 'the second wait is longer than the first');
    await until(() => second.calls.includes('tail a follow=true') && store.getState().details.a?.rollout?.phase === 'shifting');
    live.unfollowLogs('a');
    live.unwatch('a');
    assert.deepEqual(second.calls, ['tail a follow=true', 'subscribe a', 'unfollow a', 'unsubscribe a']);
    assert.deepEqual(store.getState().details, {}, 'an unwatched pipeline keeps no full view');
  } finally {
    live.stop();
  }
});

test('live: the daemon clock moves between messages, from the snapshot time and the local clock, never backwards', async () => {
  const store = createFleetStore();
  const c = fakeConnection([shifting('a')]);
  let local = 1_000_000; // the client's clock is far off the daemon's: only elapsed time counts
  const live = startLive({ store, clockMs: 5, now: () => local, connect: async () => c.conn });
  try {
    await until(() => store.getState().connection.status === 'connected');
    const start = store.getState().at;
    assert.equal(start, c.conn.snapshot.at);
    local += 90_000;
    await until(() => store.getState().at === start + 90_000);
    // A message stamped earlier than the estimate does not turn the clock back.
    c.emit({ kind: 'metrics', at: start + 1_000, variants: [] });
    assert.equal(store.getState().at, start + 90_000);
  } finally {
    live.stop();
  }
});
