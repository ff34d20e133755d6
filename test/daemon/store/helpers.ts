import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { openStore, type Store, type StoreOptions } from '../../../daemon/store/db.js';

/** A fresh directory under the OS temp dir, removed when the test file ends. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mlp-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A store on a real file in a fresh data dir, closed when the test file ends. */
export function freshStore(options: StoreOptions = {}): Store & { dataDir: string } {
  const dataDir = join(tempDir(), 'data');
  const store = openStore(dataDir, options);
  after(() => store.close());
  return Object.assign(store, { dataDir });
}

/** A pipeline with a run and model version v1..vN of one group, for tests that need what rollouts reference. */
export function withVersions(store: Store, pipeline: string, group: string, count: number): void {
  const { run } = store.runs.enqueue({ pipeline, trigger: 'manual', at: 1 });
  for (let i = 0; i < count; i++) {
    store.modelVersions.create({ pipeline, group, runId: run.id, artifactUri: (v) => `file:///models/${pipeline}/${group}/v${v}`, at: 2 });
  }
}

/**
 * Makes the store's own connection refuse writes with a real SQLite error (SQLITE_READONLY, through
 * `PRAGMA query_only`), the way a full disk refuses them, without root; `false` lifts it.
 */
export function refuseWrites(store: Store, refuse: boolean): void {
  const statement = (store.variants as unknown as { selectOne: { database: { pragma(sql: string): unknown } } }).selectOne;
  statement.database.pragma(`query_only = ${refuse ? 'ON' : 'OFF'}`);
}
