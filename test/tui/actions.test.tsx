import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MlpError } from '../../shared/errors.js';
import { pipeline, rollout, shifting } from './fixtures.js';
import { fakeActions, KEY, renderTui } from './render.js';

test('p asks first; y sends promote and shows the outcome', async () => {
  const t = renderTui([shifting('demand-forecast')]);
  await t.press('p');
  assert.match(t.frame(), /promote demand-forecast\? y\/n/);
  assert.deepEqual(t.actions.sent, []);
  await t.press('y');
  assert.deepEqual(t.actions.sent, [{ command: 'promote', pipeline: 'demand-forecast' }]);
  assert.match(t.frame(), /promote demand-forecast: accepted/);
  t.unmount();
});

test('r asks first; n or esc cancels and nothing is sent', async () => {
  const t = renderTui([shifting('demand-forecast')]);
  await t.press('r');
  assert.match(t.frame(), /roll back demand-forecast\? y\/n/);
  await t.press('j', 'p', 'n');
  assert.match(t.frame(), /cancelled/);
  await t.press('r', KEY.esc);
  assert.deepEqual(t.actions.sent, []);
  t.unmount();
});

test("the daemon's refusal is shown", async () => {
  const actions = fakeActions(() => new MlpError('conflict' as never, 'cannot roll back: the rollout is promoted'));
  const t = renderTui([shifting('demand')], { actions });
  await t.press('r', 'y');
  assert.match(t.frame(), /rollback demand: cannot roll back: the rollout is promoted/);
  t.unmount();
});

test('space pauses an active rollout and resumes a paused one, without asking', async () => {
  const t = renderTui([shifting('a'), pipeline('b', { rollout: rollout({ phase: 'paused', pausedFrom: 'shifting' }) })]);
  await t.press(' ', 'j', ' ');
  assert.deepEqual(t.actions.sent, [
    { command: 'resume', pipeline: 'b' },
    { command: 'pause', pipeline: 'a' },
  ]);
  t.unmount();
});

test('a viewer sees the operator keys disabled, with the reason, and nothing is sent', async () => {
  const t = renderTui([shifting('demand')], { role: 'viewer' });
  await t.press('p');
  assert.match(t.frame(), /read-only: this token is a viewer's/);
  assert.doesNotMatch(t.frame(), /y\/n/);
  await t.press('?');
  assert.match(t.frame(), /disabled: read-only/);
  assert.deepEqual(t.actions.sent, []);
  t.unmount();
});

test('a pipeline without an active rollout says so instead of asking', async () => {
  const t = renderTui([pipeline('idle', { rollout: rollout({ phase: 'promoted', candidateWeight: 100 }) })]);
  await t.press('p');
  assert.match(t.frame(), /idle has no active rollout \(the last one promoted\)/);
  t.unmount();
});

test('disconnected: the status line says so and operator keys wait for the reconnect', async () => {
  const t = renderTui([shifting('demand')]);
  t.store.dispatch({ type: 'connection', connection: { status: 'disconnected', reason: 'connection refused', retryInMs: 1000 } });
  await t.press('p');
  assert.match(t.frame(), /disconnected, retrying… \(connection refused\)/);
  assert.deepEqual(t.actions.sent, []);
  t.unmount();
});
