/** The daemon's shutdown runs its stages in their documented order, whatever order the parts started in. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../daemon/log.js';
import { createShutdown } from '../../daemon/shutdown.js';

function recordingLog() {
  const lines: string[] = [];
  return { log: createLogger({ write: (line) => lines.push(line) }), lines };
}

describe('daemon shutdown', () => {
  it('stops by stage, not by start order: listeners first, the store and its lock last', async () => {
    const { log } = recordingLog();
    const shutdown = createShutdown(log);
    const stopped: string[] = [];
    const part = (name: string) => () => void stopped.push(name);
    // Registered in start-up order, which follows dependencies.
    shutdown.add('store', part('lock'));
    shutdown.add('store', part('store'));
    shutdown.add('housekeeping', part('storage health'));
    shutdown.add('children', part('child records'));
    shutdown.add('rollouts', part('rollouts'));
    shutdown.add('runs', part('run queue'));
    shutdown.add('intake', part('router'));
    shutdown.add('intake', part('api'));
    await shutdown.stop();
    assert.deepEqual(stopped, ['api', 'router', 'rollouts', 'run queue', 'child records', 'storage health', 'store', 'lock']);
  });

  it('waits for each part and goes on past one that fails, saying so', async () => {
    const { log, lines } = recordingLog();
    const shutdown = createShutdown(log);
    const stopped: string[] = [];
    shutdown.add('store', () => void stopped.push('store'));
    shutdown.add('runs', async () => {
      await new Promise((r) => setTimeout(r, 20));
      stopped.push('run queue');
    });
    shutdown.add('intake', () => {
      throw new Error('socket already closed');
    });
    await shutdown.stop();
    assert.deepEqual(stopped, ['run queue', 'store']);
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /error daemon: error while stopping: socket already closed$/);
  });

  it('stops each part once when stopped twice', async () => {
    const shutdown = createShutdown(recordingLog().log);
    let closes = 0;
    shutdown.add('repo', () => void closes++);
    await shutdown.stop();
    await shutdown.stop();
    assert.equal(closes, 1);
  });
});
