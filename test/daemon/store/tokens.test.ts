import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { MlpError } from '../../../shared/errors.js';
import { freshStore } from './helpers.js';

describe('tokens', () => {
  test('create returns a secret once; verify accepts it and nothing else', () => {
    const store = freshStore();
    const op = store.tokens.create('operator', 'operator', 10);
    const viewer = store.tokens.create('dashboard', 'viewer', 20);
    assert.match(op.secret, /^mlp_[A-Za-z0-9_-]{43}$/);
    assert.notEqual(op.secret, viewer.secret);
    assert.deepEqual(store.tokens.verify(op.secret), { name: 'operator', role: 'operator' });
    assert.deepEqual(store.tokens.verify(viewer.secret), { name: 'dashboard', role: 'viewer' });
    assert.equal(store.tokens.verify(op.secret.slice(0, -1) + (op.secret.endsWith('A') ? 'B' : 'A')), null);
    assert.equal(store.tokens.verify(''), null);
    assert.deepEqual(store.tokens.list(), [
      { name: 'operator', role: 'operator', createdAt: 10, revokedAt: null },
      { name: 'dashboard', role: 'viewer', createdAt: 20, revokedAt: null },
    ]);
  });

  test('the secret is not stored, only its digest', () => {
    const store = freshStore();
    const { secret } = store.tokens.create('ci', 'operator');
    store.close();
    assert.equal(readFileSync(store.file).includes(secret), false);
  });

  test('a revoked token no longer verifies and its name stays taken', () => {
    const store = freshStore();
    const { secret } = store.tokens.create('ci', 'operator');
    assert.equal(store.tokens.isLive('ci'), true);
    assert.equal(store.tokens.isLive('nobody'), false);
    store.tokens.revoke('ci', 99);
    store.tokens.revoke('ci', 150);
    assert.equal(store.tokens.verify(secret), null);
    assert.equal(store.tokens.isLive('ci'), false);
    assert.equal(store.tokens.list()[0]?.revokedAt, 99);
    assert.throws(
      () => store.tokens.create('ci', 'viewer'),
      (err: unknown) => err instanceof MlpError && err.code === 'conflict',
    );
    assert.throws(
      () => store.tokens.revoke('nobody'),
      (err: unknown) => err instanceof MlpError && err.code === 'not_found',
    );
  });
});

describe('audit', () => {
  test('records commands and lists the last ones, newest last', () => {
    const store = freshStore();
    const first = store.audit.record({
      at: 1,
      actor: 'alice',
      role: 'operator',
      command: 'pause',
      target: 'demand-forecast',
      outcome: 'accepted',
    });
    assert.deepEqual(first, {
      id: first.id,
      at: 1,
      actor: 'alice',
      role: 'operator',
      command: 'pause',
      target: 'demand-forecast',
      args: null,
      outcome: 'accepted',
      message: null,
    });
    store.audit.record({
      at: 2,
      actor: 'bob',
      role: 'viewer',
      command: 'promote',
      target: 'demand-forecast',
      outcome: 'rejected',
      message: 'viewer tokens may not promote',
    });
    store.audit.record({
      at: 3,
      actor: 'alice',
      role: 'operator',
      command: 'deploy',
      target: 'churn',
      args: { version: 'v3' },
      outcome: 'failed',
      message: 'no version v3',
    });
    assert.deepEqual(
      store.audit.list({ limit: 2 }).map((e) => [e.actor, e.command, e.outcome, e.args]),
      [
        ['bob', 'promote', 'rejected', null],
        ['alice', 'deploy', 'failed', { version: 'v3' }],
      ],
    );
  });
});
