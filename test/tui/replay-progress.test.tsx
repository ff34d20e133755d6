import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PipelineView } from '../../shared/protocol.js';
import { pipeline, rollout, shifting } from './fixtures.js';
import { KEY, renderTui } from './render.js';

function replaying(name: string, progress: NonNullable<PipelineView['rollout']>['replayProgress']): PipelineView {
  return pipeline(name, {
    groups: ['london', 'paris'],
    rollout: rollout({ phase: 'replaying', candidateWeight: 0, replayProgress: progress }),
  });
}

test('while replaying, the pipeline shows how far each group has got, and follows live updates', async () => {
  const t = renderTui([
    replaying('demand', [
      { group: 'london', done: 50, total: 200 },
      { group: 'paris', done: 12, total: null },
    ]),
  ]);
  await t.press(KEY.enter);
  assert.match(t.frame(), /replaying london\s+▒{5}░{15} 50 of 200 requests/);
  assert.match(t.frame(), /replaying paris\s+12 requests/);
  t.store.dispatch({
    type: 'event',
    event: {
      kind: 'pipeline_updated',
      pipeline: replaying('demand', [
        { group: 'london', done: 200, total: 200 },
        { group: 'paris', done: 80, total: 80 },
      ]),
    },
  });
  await t.settle();
  assert.match(t.frame(), /replaying london\s+▒{20} 200 of 200 requests/);
  assert.match(t.frame(), /replaying paris\s+▒{20} 80 of 80 requests/);
  // Once the shift begins the progress is gone (the daemon also stops sending it).
  t.store.dispatch({
    type: 'event',
    event: {
      kind: 'pipeline_updated',
      pipeline: {
        ...shifting('demand', 20),
        rollout: { ...shifting('demand', 20).rollout!, replayProgress: [{ group: 'london', done: 200, total: 200 }] },
      },
    },
  });
  await t.settle();
  assert.doesNotMatch(t.frame(), /replaying london/);
  t.unmount();
});

test('one request, one more group: in the singular', async () => {
  const groups = ['amsterdam', 'berlin', 'lisbon', 'london', 'madrid'];
  const t = renderTui([
    replaying(
      'demand',
      groups.map((group, i) => ({ group, done: i === 4 ? 1 : 0, total: i === 0 ? 1 : null })),
    ),
  ]);
  await t.press(KEY.enter);
  const f = t.frame();
  assert.match(f, /replaying amsterdam\s+░{20} 0 of 1 request$/m);
  assert.match(f, /replaying berlin\s+0 requests$/m);
  assert.match(f, /\+1 more group: 1 request replayed/);
  t.unmount();
});

test('many groups replaying fit in 80x24: four lines and a sum of the rest', async () => {
  const groups = ['amsterdam', 'berlin', 'lisbon', 'london', 'madrid', 'paris'];
  const t = renderTui([
    replaying(
      'demand',
      groups.map((group, i) => ({ group, done: 10 * (i + 1), total: 100 })),
    ),
  ]);
  await t.press(KEY.enter);
  const f = t.frame();
  assert.match(f, /replaying london\s+▒{8}░{12} 40 of 100 requests/);
  assert.doesNotMatch(f, /replaying madrid/);
  assert.match(f, /\+2 more groups: 110 requests replayed/);
  assert.ok(f.split('\n').length <= 24, `${f.split('\n').length} lines`);
  assert.ok(f.split('\n').every((l) => l.length <= 80));
  t.unmount();
});
