/** What mlpd says at start about who can call its models. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../daemon/log.js';
import { sayServingAccess } from '../../daemon/serving-access.js';

function said(host: string, token: string | undefined): string[] {
  const lines: string[] = [];
  sayServingAccess(createLogger({ write: (line) => lines.push(line.replace(/^\S+ /, '')) }), {
    serveUrl: `http://${host}:8080`,
    host,
    token,
  });
  return lines;
}

describe('serving access at start', () => {
  it('warns when the router is reachable from the network without a token', () => {
    assert.deepEqual(said('0.0.0.0', undefined), [
      'warn  serving: http://0.0.0.0:8080 is reachable from the network and has no authentication: anyone who reaches it can call every model; set MLP_SERVE_TOKEN',
    ]);
  });

  it('says a token is required when there is one, wherever it listens', () => {
    const required = ['info  serving: http://0.0.0.0:8080 requires the serving token (MLP_SERVE_TOKEN) on every invocation'];
    assert.deepEqual(said('0.0.0.0', 's3cret'), required);
    assert.equal(said('127.0.0.1', 's3cret').length, 1);
  });

  it('says nothing for a router only this machine can reach', () => {
    assert.deepEqual(said('127.0.0.1', undefined), []);
    assert.deepEqual(said('localhost', undefined), []);
  });
});
