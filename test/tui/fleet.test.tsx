import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockedByReplay, decision, NOW, pipeline, rollout, shifting } from './fixtures.js';
import { KEY, renderTui } from './render.js';

const fleet = () => [pipeline('churn'), shifting('demand-forecast', 30), blockedByReplay('pricing'), pipeline('ads', { rollout: rollout({ phase: 'paused', pausedFrom: 'shifting' }) })];

test('the fleet shows what needs a person first, phases, versions, traffic and the candidate error rate', async () => {
  const t = renderTui(fleet());
  await t.settle();
  const lines = t.frame().split('\n');
  const order = ['pricing', 'ads', 'demand-forecast', 'churn'].map((n) => lines.findIndex((l) => l.includes(n)));
  assert.deepEqual([...order].sort((a, b) => a - b), order, t.frame());
  assert.match(t.frame(), /4 pipelines · 2 need you · 2 rolling out/);
  const demand = lines.find((l) => l.includes('demand-forecast'))!;
  assert.match(demand, /shifting\s+v2→v3\s+[█▒]+\s+70\|30\s+1\.5%/);
  assert.match(lines.find((l) => l.includes('pricing'))!, /blocked/);
  assert.match(t.frame(), /pricing: blocked: replay: 2 of 100/);
  t.unmount();
});

test('the threshold shows when a decision carries it, and the rate turns red above it', async () => {
  const p = shifting('demand-forecast', 30, 30);
  p.rollout!.decisions.push(decision({ at: NOW, rule: 'error_rate', observed: 0.15, threshold: 0.05, verdict: 'rollback' }));
  const t = renderTui([p]);
  await t.settle();
  assert.match(t.frame(), /15% \/ 5\.0%/);
  t.unmount();
});

test('every line fits in 80 columns and the frame in 24 rows, even with 200 pipelines', async () => {
  const many = Array.from({ length: 200 }, (_, i) => shifting(`${String(i).padStart(3, '0')}-pipeline-with-a-rather-long-name`, i % 100));
  const t = renderTui(many, { columns: 80, rows: 24 });
  await t.settle();
  const lines = t.frame().split('\n');
  assert.ok(lines.length <= 24, `${lines.length} lines`);
  for (const l of lines) assert.ok(l.length <= 80, `too wide (${l.length}): ${l}`);
  assert.match(t.frame(), /1-18 of 200/);
  await t.press(...Array(25).fill('j'));
  assert.match(t.frame(), /› 025-pipeline/);
  assert.match(t.frame(), /9-26 of 200/);
  t.unmount();
});

test('↑/↓ and j/k move the selection; / filters as you type; esc clears it', async () => {
  const t = renderTui(fleet());
  await t.press('j', KEY.down);
  assert.match(t.frame(), /› demand-forecast/);
  await t.press('k');
  assert.match(t.frame(), /› ads/);
  await t.press('/', 'c', 'h');
  assert.match(t.frame(), /\/ch▏/);
  assert.doesNotMatch(t.frame(), /pricing/);
  assert.match(t.frame(), /churn/);
  await t.press(KEY.enter);
  assert.match(t.frame(), /› churn/);
  assert.match(t.frame(), /\/ch$/m);
  await t.press(KEY.esc);
  assert.match(t.frame(), /pricing/);
  t.unmount();
});

test('? shows the help from the key table; q quits', async () => {
  const t = renderTui(fleet());
  await t.press('?');
  assert.match(t.frame(), /space\s+pause the rollout where it is/);
  await t.press('?', 'q');
  assert.equal(t.quitted(), true);
  t.unmount();
});
