/** Model servers' ports: outside the OS's ephemeral range, never handed out twice while held, checked free by binding. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createPortPool, ephemeralRange, poolRange } from '../../../daemon/serving/servers/ports.js';

const HOST = '127.0.0.1';

async function listen(port: number): Promise<Server> {
  const s = createServer();
  s.listen(port, HOST);
  await once(s, 'listening');
  return s;
}

describe('model server ports', () => {
  it('come from below the ephemeral range, where outgoing connections never take them', async () => {
    const [lo] = ephemeralRange();
    const pool = createPortPool(HOST);
    assert.ok(pool.range, 'this machine leaves room below its ephemeral range');
    for (let i = 0; i < 20; i++) {
      const port = await pool.take();
      assert.ok(port < lo && port >= pool.range[0] && port <= pool.range[1], `port ${port} in ${pool.range.join('-')}, below ${lo}`);
    }
  });

  it('reads the range from the OS, and finds room above it when there is none below', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlp-ports-'));
    try {
      writeFileSync(join(dir, 'range'), '32768\t60999\n');
      assert.deepEqual(ephemeralRange(join(dir, 'range')), [32768, 60999]);
      assert.deepEqual(ephemeralRange(join(dir, 'missing')), [49152, 65535]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(poolRange([32768, 60999]), [22768, 32767]);
    assert.deepEqual(poolRange([1024, 50000]), [50001, 60000]);
    assert.equal(poolRange([1024, 65000]), null);
  });

  // The fixed ports below are under every daemon's pool (22768 and up) and the ephemeral range, so neither
  // parallel tests' daemons nor outgoing connections take them meanwhile.
  it('are never handed out twice while held, and a given-back port waits its turn round the range', async () => {
    const pool = createPortPool(HOST, { range: [20100, 20104] });
    const taken = [await pool.take(), await pool.take(), await pool.take(), await pool.take(), await pool.take()];
    assert.equal(new Set(taken).size, 5);
    await assert.rejects(pool.take(), /no free port for a model server between 20100 and 20104/);
    pool.give(taken[1]!);
    assert.equal(await pool.take(), taken[1]);
    // Round the range: with every port free, the next one after the last taken comes, not the lowest.
    const wide = createPortPool(HOST, { range: [20110, 20119] });
    const a = await wide.take();
    wide.give(a);
    const b = await wide.take();
    assert.notEqual(b, a);
  });

  it('skip a port something else listens on', async () => {
    const busy = await listen(20120);
    try {
      const pool = createPortPool(HOST, { range: [20120, 20121] });
      assert.equal(await pool.take(), 20121);
      await assert.rejects(pool.take(), /no free port/);
    } finally {
      busy.close();
    }
  });

  it('without room outside the ephemeral range, the OS chooses, still never a port the pool holds', async () => {
    const pool = createPortPool(HOST, { range: null });
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) ports.add(await pool.take());
    assert.equal(ports.size, 20);
  });
});
