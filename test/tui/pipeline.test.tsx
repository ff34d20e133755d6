import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockedByDataChecks, blockedByOldReplay, blockedByReplay, dataChecksReport, NOW, pipeline, shifting } from './fixtures.js';
import { KEY, renderTui } from './render.js';

test('enter opens the pipeline: gates, replay counts, the failing-request browser, the decisions; esc goes back', async () => {
  const t = renderTui([blockedByReplay('pricing'), pipeline('churn')], { columns: 120 });
  await t.press(KEY.enter);
  const f = t.frame();
  assert.match(f, /pricing blocked v2 → v3 at 0%/);
  assert.match(f, /✔ data checks: 3 suites passed/);
  assert.match(f, /- integration tests: not configured/);
  assert.match(f, /✖ replay: 2 regressions in london/);
  assert.match(f, /replay london: 100 sent, 2 regressions, 0 flaky · ✔ p99 latency ≤ 1\.5 × current \(6\.2 vs 7\.4\)/);
  assert.match(f, /failing request 1 of 2/);
  assert.match(f, /request\s+\{"x":7\}/);
  assert.match(f, /current\s+HTTP 200 \{"y":7\}/);
  assert.match(f, /candidate HTTP 500 \{"error":"cannot score x=7"\}/);
  assert.match(f, /block\s+replaying replay 2 vs 0: 2 of 100 requests/);
  await t.press(KEY.down);
  assert.match(t.frame(), /failing request 2 of 2/);
  assert.match(t.frame(), /candidate timeout after 30000 ms/);
  await t.press('j');
  assert.match(t.frame(), /failing request 2 of 2/);
  await t.press(KEY.esc);
  assert.match(t.frame(), /2 pipelines/);
  t.unmount();
});

test('per-group traffic bars; a live update re-renders the open pipeline', async () => {
  const p = shifting('demand', 20);
  p.groups = ['london', 'paris'];
  p.variants.push({ ...p.variants[0]!, group: 'paris' }, { ...p.variants[1]!, group: 'paris' });
  const t = renderTui([p]);
  await t.press(KEY.enter);
  assert.match(t.frame(), /london\s+[█▒]+\s+80\|20/);
  assert.match(t.frame(), /paris\s+[█▒]+\s+80\|20/);
  const next = shifting('demand', 40);
  next.groups = ['london'];
  t.store.dispatch({ type: 'event', event: { kind: 'pipeline_updated', pipeline: next } });
  await t.settle();
  assert.match(t.frame(), /demand shifting v2 → v3 at 40%/);
  assert.match(t.frame(), /london\s+[█▒]+\s+60\|40/);
  t.unmount();
});

test('l follows the logs through the action handler and prints lines as they arrive; esc unfollows', async () => {
  const t = renderTui([shifting('demand')]);
  await t.press('l');
  assert.deepEqual(t.actions.followed, ['demand']);
  t.store.dispatch({
    type: 'logs',
    pipeline: 'demand',
    lines: [
      { id: 1, at: NOW, pipeline: 'demand', runId: 'r1', step: 'train', group: 'london', stream: 'stdout', line: 'epoch 1 loss 0.5' },
    ],
  });
  t.store.dispatch({
    type: 'event',
    event: {
      kind: 'log',
      at: NOW + 1,
      pipeline: 'demand',
      runId: null,
      step: null,
      group: null,
      stream: 'daemon',
      line: 'rollout advanced',
    },
  });
  await t.settle();
  assert.match(t.frame(), /2025-11-20T12:00:00\.000Z london\/train \| epoch 1 loss 0\.5/);
  assert.match(t.frame(), /mlpd \| rollout advanced/);
  assert.match(t.frame(), /following the logs of demand \(2 lines\)/);
  await t.press(KEY.esc);
  assert.deepEqual(t.actions.unfollowed, ['demand']);
  t.unmount();
});

test('a failed data-checks gate lists each failing expectation: suite, type, column, what was found, sample values', async () => {
  const t = renderTui([blockedByDataChecks('orders')], { columns: 100, rows: 40 });
  await t.press(KEY.enter);
  const f = t.frame();
  const [orders, cities, returns] = dataChecksReport;
  const between = orders!.failed[0]!;
  assert.ok(f.includes(`✖ ${orders!.suite}: ${between.expectation.type} (${between.expectation.kwargs.column})`), f);
  assert.ok(
    f.includes(
      `${between.unexpected_count} of ${between.element_count} unexpected (${between.unexpected_percent}%), e.g. ${between.sample!.join(', ')}`,
    ),
    f,
  );
  assert.match(
    f,
    /✖ suites\/orders\.json: expect_column_values_to_not_be_null \(city\)\n\s+1 of 4 unexpected \(25%\)\n/,
    'no sample for nulls',
  );
  assert.ok(f.includes(`✖ ${cities!.suite}: expect_column_values_to_be_in_set (city)`), f);
  assert.match(f, /3 of 1,000 unexpected \(0\.3%\), e\.g\. "oslo", "rome"$/m, 'string values quoted, repeats once');
  assert.match(f, /✖ suites\/cities\.json: expect_table_row_count_to_be_between\n\s+observed 12$/m);
  assert.ok(f.includes(`✖ ${returns!.suite}: cannot check ${returns!.data}`), f);
  assert.match(f, /could not run: data file data\/returns\.csv does not exist/);
  t.unmount();
});

test('short of room, the failing expectations that fit show and the rest are counted', async () => {
  const t = renderTui([blockedByDataChecks('orders')], { columns: 80, rows: 14 });
  await t.press(KEY.enter);
  const f = t.frame();
  assert.ok(f.split('\n').length <= 14, f);
  assert.match(f, /expect_column_values_to_be_between \(demand\)/);
  assert.match(f, /\+\d more failing expectations \(mlp status --json has the whole report\)/);
  t.unmount();
});

test('a gate report an older mlpd stored is said to be unreadable; the gates and decisions still show', async () => {
  const t = renderTui([blockedByOldReplay('pricing')], { columns: 140 });
  await t.press(KEY.enter);
  const f = t.frame();
  assert.match(f, /✖ replay: 2 regressions in london/);
  assert.match(f, /replay report not readable \(london\.requested: /);
  assert.doesNotMatch(f, /failing request 1 of/);
  assert.match(f, /block\s+replaying replay 2 vs 0: 2 of 100 requests/);
  t.unmount();
});
