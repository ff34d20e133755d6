import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseClientMessage } from '../../daemon/api/server.js';

const parse = (text: string, binary = false) => parseClientMessage(Buffer.from(text), binary);

describe('parseClientMessage', () => {
  it('accepts the messages of the protocol', () => {
    assert.deepEqual(parse('{"type":"ping","id":"1"}'), { message: { type: 'ping', id: '1' } });
    assert.deepEqual(parse('{"type":"command","id":"c","command":"pause","pipeline":"p"}'), {
      message: { type: 'command', id: 'c', command: 'pause', pipeline: 'p' },
    });
    assert.deepEqual(parse('{"type":"status","full":true}'), { message: { type: 'status', full: true } });
    assert.deepEqual(parse('{"type":"subscribe","id":"s","pipeline":"p"}'), { message: { type: 'subscribe', id: 's', pipeline: 'p' } });
    assert.deepEqual(parse('{"type":"unsubscribe","pipeline":"p"}'), { message: { type: 'unsubscribe', pipeline: 'p' } });
  });

  it('names what is wrong, and keeps the request id when there is one', () => {
    assert.match((parse('{') as { error: string }).error, /^malformed message: not JSON/);
    assert.match((parse('[1]', true) as { error: string }).error, /binary frames are not accepted/);
    const badCommand = parse('{"type":"command","id":"c9","command":"explode","pipeline":"p"}') as { error: string; id: string };
    assert.equal(badCommand.id, 'c9');
    assert.match(badCommand.error, /^invalid message: command: .*promote/);
    assert.match((parse('{"type":"ping","extra":1}') as { error: string }).error, /extra/);
    assert.match(
      (parse('{"type":"subscribe","pipeline":"p"}') as { error: string }).error,
      /^invalid message: id: /,
      'a subscription is answered, so it needs an id',
    );
    assert.match(
      (parse('{"type":"command","id":"c","command":"deploy","pipeline":"p","version":"3"}') as { error: string }).error,
      /version: a version looks like v3/,
    );
  });

  it("takes deploy's per-group versions, not together with a single version", () => {
    assert.deepEqual(parse('{"type":"command","id":"c","command":"deploy","pipeline":"p","versions":{"london":"v3","paris":"v2"}}'), {
      message: { type: 'command', id: 'c', command: 'deploy', pipeline: 'p', versions: { london: 'v3', paris: 'v2' } },
    });
    assert.match(
      (parse('{"type":"command","id":"c","command":"deploy","pipeline":"p","versions":{"london":"3"}}') as { error: string }).error,
      /versions\.london: a version looks like v3/,
    );
    assert.match(
      (
        parse('{"type":"command","id":"c","command":"deploy","pipeline":"p","version":"v1","versions":{"london":"v3"}}') as {
          error: string;
        }
      ).error,
      /send 'version' or 'versions', not both/,
    );
  });

  it('refuses oversized messages without parsing them', () => {
    const big = JSON.stringify({ type: 'ping', pad: 'x'.repeat(70_000) });
    assert.match((parse(big) as { error: string }).error, /message too large: \d+ bytes, the limit is 65536/);
  });
});
