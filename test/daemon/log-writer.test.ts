/** Log lines while the database refuses writes: kept, the problem said once, lines that did not fit counted. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger } from '../../daemon/log.js';
import { createLogWriter, reportToStorageHealth } from '../../daemon/log-writer.js';
import { createStorageHealth } from '../../daemon/storage-health.js';
import { freshStore, refuseWrites } from './store/helpers.js';

describe("the daemon's log writer and storage health", () => {
  it('reports a refused batch as a storage problem, writes what it kept once writes work again, and counts the lines it dropped', () => {
    const store = freshStore();
    const lines: string[] = [];
    const log = createLogger({ write: (line) => lines.push(line) });
    const storage = createStorageHealth({ log, file: store.file, retryEveryMs: 60_000 });
    const writer = createLogWriter(store, { ...reportToStorageHealth(storage, log), maxKept: 2 });
    try {
      refuseWrites(store, true);
      for (let i = 1; i <= 5; i++) writer.write({ at: i, pipeline: 'forecast', stream: 'daemon', line: `line ${i}` });
      writer.flush();
      assert.ok(storage.problem(), 'the refusal is a storage problem, shown in status');
      assert.ok(!lines.some((l) => l.includes('cannot store log lines')), 'not said again as a log error');

      refuseWrites(store, false);
      writer.flush();
      assert.deepEqual(
        store.logs.query({ pipeline: 'forecast', limit: 10, from: 'start' }).map((l) => l.line),
        ['line 4', 'line 5'],
      );
      assert.ok(
        lines.some((l) => /warn {2}logs: 3 log lines were lost while the database refused writes$/.test(l)),
        lines.join('\n'),
      );
    } finally {
      storage.close();
    }
  });
});
