import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { createCaptureWriter, type CaptureWriterOptions } from '../../../daemon/serving/capture/writer.js';
import { declaredEncoding } from '../../../daemon/serving/capture/format.js';
import { captureEndpoint, captureVariant } from '../../../daemon/serving/capture/layout.js';
import { readCapture, type CapturedRequest, type ReadCaptureOptions } from '../../../daemon/serving/capture/reader.js';
import type { Invocation } from '../../../daemon/serving/types.js';
import { createLogger } from '../../../daemon/log.js';
import { systemClock } from '../../../daemon/scheduler/clock.js';

/** The record in reference/sagemaker.md, as SageMaker writes it. */
const SAGEMAKER_RECORD =
  '{"captureData":{"endpointInput":{"observedContentType":"application/json","mode":"INPUT","data":"{\\"city\\":\\"london\\",\\"week\\":12}","encoding":"JSON"},"endpointOutput":{"observedContentType":"application/json","mode":"OUTPUT","data":"{\\"demand\\":412.5}","encoding":"JSON"}},"eventMetadata":{"eventId":"3f0c7c1e-2b8e-4f51-9a57-0c1d2f7e9b10","inferenceId":"req-123","inferenceTime":"2026-11-20T23:33:12Z"},"eventVersion":"0"}';

/** In the past, as real capture is: the reader bounds a file's records by its modification time. */
const AT = Date.parse('2026-11-20T23:33:12.345Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const RETENTION = { days: 30, maxBytes: 1024 ** 3 };

const temps: string[] = [];
after(() => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'mlp-capture-'));
  temps.push(d);
  return join(d, 'capture');
}

function invocation(over: Partial<Invocation> = {}): Invocation {
  return {
    pipeline: 'demand-forecast',
    group: 'london',
    variant: 'v3',
    at: AT,
    latencyMs: 3.25,
    status: 200,
    requestBody: Buffer.from('{"city":"london","week":12}'),
    requestContentType: 'application/json',
    responseBody: Buffer.from('{"demand":412.5}'),
    responseContentType: 'application/json',
    inferenceId: 'req-123',
    ...over,
  };
}

function writer(dir: string, over: Partial<CaptureWriterOptions> = {}) {
  return createCaptureWriter({ dir, retention: RETENTION, clock: { now: () => AT + 60_000 }, ...over });
}

/** Every file under `dir`, relative, sorted. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  await walk(dir);
  return out.sort();
}

async function records(dir: string): Promise<Record<string, any>[]> {
  const out: Record<string, any>[] = [];
  for (const f of await files(dir)) {
    const text = await readFile(join(dir, f), 'utf8');
    assert.ok(text.endsWith('\n'), `${f} ends with a whole line`);
    for (const line of text.split('\n').filter(Boolean)) out.push(JSON.parse(line));
  }
  return out;
}

/** The key paths of a JSON value (`captureData.endpointInput.mode`, ...). */
function keyPaths(v: unknown, prefix = ''): string[] {
  if (typeof v !== 'object' || v === null) return [prefix];
  return Object.entries(v).flatMap(([k, x]) => keyPaths(x, prefix ? `${prefix}.${k}` : k));
}

async function readAll(opts: Partial<ReadCaptureOptions> & { dir: string }) {
  const reader = readCapture({ pipeline: 'demand-forecast', group: 'london', sinceMs: 0, limit: 1_000_000, ...opts });
  const got: CapturedRequest[] = [];
  for await (const r of reader) got.push(r);
  return { got, stats: reader.stats };
}

describe('Data Capture records', () => {
  test('are SageMaker Data Capture lines, with mlp’s fields under their own key', async () => {
    const dir = await tempDir();
    const w = writer(dir);
    w.record(invocation());
    await w.close();

    const [rec, ...rest] = await records(dir);
    assert.equal(rest.length, 0);
    const reference = JSON.parse(SAGEMAKER_RECORD);
    assert.deepEqual(
      keyPaths(rec).filter((k) => !k.startsWith('mlp.')),
      keyPaths(reference),
    );
    assert.deepEqual(rec!.captureData, reference.captureData);
    assert.equal(rec!.eventVersion, '0');
    assert.equal(rec!.eventMetadata.inferenceId, 'req-123');
    assert.equal(rec!.eventMetadata.inferenceTime, '2026-11-20T23:33:12Z');
    assert.match(rec!.eventMetadata.eventId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.deepEqual(rec!.mlp, { pipeline: 'demand-forecast', group: 'london', variant: 'v3', status: 200, latencyMs: 3.25, at: AT });
  });

  test('JSON and CSV bodies are kept as text, anything else as base64', async () => {
    const dir = await tempDir();
    const w = writer(dir);
    const tricky = '{"text":"quote \\" backslash \\\\ newline \\n tab \\t","emoji":"😀","ü":"ß","ctl":"\\u0001"}\n';
    const csv = 'city,week\nlondon,12\n"Zürich, CH",13\r\n';
    const binary = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x0a, 0x22]);
    const cases: [string, Buffer, string | undefined, string][] = [
      ['json', Buffer.from(tricky), 'application/json; charset=utf-8', 'JSON'],
      ['vendor-json', Buffer.from('[1,2]'), 'application/vnd.mlp.forecast+json', 'JSON'],
      ['csv', Buffer.from(csv), 'text/csv', 'CSV'],
      ['binary', binary, 'application/octet-stream', 'BASE64'],
      ['no-type', Buffer.from('hello'), undefined, 'BASE64'],
      ['json-not-utf8', binary, 'application/json', 'BASE64'],
      ['empty', Buffer.alloc(0), 'application/json', 'JSON'],
    ];
    for (const [id, body, ct] of cases)
      w.record(invocation({ inferenceId: id, requestBody: body, requestContentType: ct, responseBody: body, responseContentType: ct }));
    await w.close();

    const byId = new Map((await records(dir)).map((r) => [r.eventMetadata.inferenceId, r]));
    for (const [id, body, ct, encoding] of cases) {
      for (const side of [byId.get(id)!.captureData.endpointInput, byId.get(id)!.captureData.endpointOutput]) {
        assert.equal(side.encoding, encoding, id);
        assert.equal(side.observedContentType, ct, id);
        assert.equal('observedContentType' in side, ct !== undefined, id);
        const decoded = encoding === 'BASE64' ? Buffer.from(side.data, 'base64') : Buffer.from(side.data, 'utf8');
        assert.deepEqual(decoded, body, id);
      }
    }
    assert.equal(byId.get('json')!.captureData.endpointInput.data, tricky);
    assert.equal(byId.get('csv')!.captureData.endpointInput.data, csv);
  });

  test('content types are classified by media type, ignoring case and parameters', () => {
    assert.equal(declaredEncoding('Application/JSON ; charset=UTF-8'), 'JSON');
    assert.equal(declaredEncoding('application/problem+json'), 'JSON');
    assert.equal(declaredEncoding('application/jsonlines'), 'JSON');
    assert.equal(declaredEncoding('text/csv; header=present'), 'CSV');
    assert.equal(declaredEncoding('text/plain'), 'BASE64');
    assert.equal(declaredEncoding('image/png'), 'BASE64');
    assert.equal(declaredEncoding(undefined), 'BASE64');
  });
});

describe('Data Capture layout', () => {
  test('<endpoint>/<variant>/yyyy/mm/dd/hh/<time>-<writer>-<seq>.jsonl, by the record’s UTC hour', async () => {
    const dir = await tempDir();
    const w = writer(dir);
    w.record(invocation({ inferenceId: 'a' }));
    w.record(invocation({ inferenceId: 'b', at: AT + HOUR }));
    w.record(invocation({ inferenceId: 'c', variant: 'v4' }));
    w.record(invocation({ inferenceId: 'd', group: 'paris' }));
    await w.close();
    const list = await files(dir);
    assert.equal(list.length, 4);
    const shape = /^([^/]+)\/([^/]+)\/(\d{4}\/\d{2}\/\d{2}\/\d{2})\/(\d{2})-(\d{2})-(\d{3})-([0-9a-f]{8})-(\d{6})\.jsonl$/;
    const folders = list.map((f) => {
      const m = shape.exec(f);
      assert.ok(m, f);
      return `${m[1]}/${m[2]}/${m[3]}`;
    });
    assert.deepEqual(folders, [
      'demand-forecast--london/v3/2026/11/20/23',
      'demand-forecast--london/v3/2026/11/21/00',
      'demand-forecast--london/v4/2026/11/20/23',
      'demand-forecast--paris/v3/2026/11/20/23',
    ]);
    assert.equal(new Set(list.map((f) => f.split('/').pop())).size, 4, 'file names are unique');
  });

  test('endpoint names are SageMaker endpoint names, readable and distinct for every group', () => {
    const valid = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
    assert.equal(captureEndpoint('demand-forecast', 'london'), 'demand-forecast--london');
    const odd = [
      ['demand-forecast', 'London'],
      ['demand-forecast', 'london'],
      ['demand-forecast', 'new york'],
      ['demand-forecast', 'new-york'],
      ['demand-forecast', 'São Paulo'],
      ['demand_forecast', 'london'],
      ['demand-forecast', '--'],
      ['demand--forecast', 'london'],
      ['demand', 'forecast--london'],
      ['a'.repeat(63), 'b'.repeat(40)],
      ['a'.repeat(63), 'b'.repeat(41)],
      ['demand-forecast', ''],
    ] as const;
    const names = odd.map(([p, g]) => captureEndpoint(p, g));
    for (const n of names) assert.match(n, valid);
    assert.equal(new Set(names).size, names.length, names.join(' '));
    assert.match(captureEndpoint('demand-forecast', 'São Paulo'), /^demand-forecast--s-o-paulo-[0-9a-f]{8}$/);
    assert.equal(captureVariant('v3'), 'v3');
    assert.match(captureVariant('v3 (old)'), valid);
  });
});

describe('Data Capture writer', () => {
  test('every recorded invocation is written exactly once, across batches, files and hours', async () => {
    const dir = await tempDir();
    const w = writer(dir, { flushIntervalMs: 5, maxBatchBytes: 16 * 1024, maxFileBytes: 64 * 1024 });
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      w.record(invocation({ inferenceId: String(i), variant: `v${i % 3}`, at: AT + Math.floor(i / 10_000) * HOUR + (i % 1000) }));
      if (i % 997 === 0) await new Promise((r) => setTimeout(r, 1)); // let batches go out mid-stream
      if (i === 12_345) await w.flush();
    }
    await w.close();
    const ids = (await records(dir)).map((r) => Number(r.eventMetadata.inferenceId));
    assert.equal(ids.length, n);
    assert.equal(new Set(ids).size, n);
    const list = await files(dir);
    assert.ok(list.length > 6, `rotated by size: ${list.length} files`);
    const st = w.stats();
    assert.equal(st.recorded, n);
    assert.equal(st.written, n);
    assert.equal(st.dropped + st.failed + st.queued, 0);
    assert.equal(st.openFiles, 0);
  });

  test('record() returns at once; the write happens after the flush interval', async () => {
    const dir = await tempDir();
    const w = writer(dir, { flushIntervalMs: 50 });
    w.record(invocation());
    assert.deepEqual(await files(dir), []);
    assert.equal(w.stats().queued, 1);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(w.stats().written, 1);
    assert.equal((await records(dir)).length, 1);
    await w.close();
  });

  test('when the disk falls behind, the queue is capped: records are dropped, counted and reported', async () => {
    const dir = await tempDir();
    const lines: string[] = [];
    const log = createLogger({ write: (l) => lines.push(l) });
    const w = writer(dir, { maxQueueBytes: 1024 ** 2, log });
    const body = Buffer.alloc(64 * 1024, 'a');
    for (let i = 0; i < 100; i++) w.record(invocation({ inferenceId: String(i), requestBody: body, requestContentType: 'text/plain' }));
    const st = w.stats();
    assert.ok(st.dropped > 0 && st.recorded + st.dropped === 100, JSON.stringify(st));
    assert.ok(st.queuedBytes <= 1024 ** 2);
    assert.match(lines.join('\n'), /dropped \d+ records: the disk is slower than traffic/);
    await w.close();
    assert.equal((await records(dir)).length, st.recorded);
    w.record(invocation());
    assert.equal(w.stats().dropped, st.dropped + 1, 'records after close are dropped');
  });

  test('a failed write loses its batch, is reported, and does not stop other variants', async () => {
    const dir = await tempDir();
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'demand-forecast--paris'), 'not a folder');
    const errors: string[] = [];
    const w = writer(dir, { onError: (e) => errors.push(e.message) });
    w.record(invocation({ group: 'paris' }));
    w.record(invocation({ group: 'london' }));
    await w.close();
    assert.equal(w.stats().failed, 1);
    assert.equal(w.stats().written, 1);
    assert.match(errors.join('\n'), /capture write failed \(1 records lost\)/);
    assert.equal((await records(join(dir, 'demand-forecast--london'))).length, 1);
  });

  test('failing writes (a full disk) are said once, then counted, and the recovery is said', async () => {
    const dir = await tempDir();
    await mkdir(dir, { recursive: true });
    const blocker = join(dir, 'demand-forecast--paris');
    await writeFile(blocker, 'not a folder');
    const errors: string[] = [];
    const lines: string[] = [];
    let clock = AT;
    const w = writer(dir, {
      clock: { now: () => clock },
      onError: (e) => errors.push(e.message),
      log: createLogger({ write: (l) => lines.push(l) }),
    });
    for (let i = 0; i < 5; i++) {
      w.record(invocation({ group: 'paris' }));
      await w.flush();
    }
    assert.equal(w.stats().failed, 5);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /capture write failed \(1 records lost\): .*failures are counted until a write succeeds/);
    await rm(blocker);
    w.record(invocation({ group: 'paris' }));
    await w.flush();
    assert.doesNotMatch(lines.join('\n'), /writing again/, 'one write that fits right after a failure is not a recovery yet');
    clock += 10_000;
    w.record(invocation({ group: 'paris' }));
    await w.close();
    assert.match(lines.join('\n'), /capture: writing again: 5 records lost since \d\d:\d\d:\d\d/);
    assert.equal((await records(blocker)).length, 2);
  });

  test('a process killed with SIGKILL loses at most the last flush interval and the batch in flight; no line is left broken', async () => {
    const dir = await tempDir();
    const flushMs = 100;
    const rate = 2000;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, '../../fixtures/serving/capture-child.ts'), dir, String(rate), String(flushMs)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const recordedAt = new Map<number, number>();
    let buffered = '';
    let ready: () => void;
    const isReady = new Promise<void>((r) => (ready = r));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const p of parts) {
        if (p === 'ready') ready();
        else {
          const [seq, at] = p.split(' ').map(Number);
          recordedAt.set(seq!, at!);
        }
      }
    });
    const exited = new Promise((r) => child.once('exit', r));
    await isReady;
    await new Promise((r) => setTimeout(r, 1500));
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await exited;

    // What is on disk: every complete line parses; a cut-short last line is possible only at a file's end.
    const { got, stats } = await readAll({ dir });
    assert.equal(stats.malformed, 0);
    assert.ok(stats.partial <= 1);
    const written = new Set(got.map((r) => Number(r.inferenceId)));
    assert.equal(written.size, got.length, 'no duplicates');
    const recorded = [...recordedAt.keys()];
    assert.ok(recorded.length > rate, `the child recorded ${recorded.length}`);
    const lost = recorded.filter((seq) => !written.has(seq));
    // Bound (docs/serving.md): records accepted in the last flush interval, plus the batch being written
    // (itself at most one interval's worth), plus scheduling slack on a busy machine.
    const bound = 2 * flushMs + 250;
    const oldestLost = Math.min(...lost.map((s) => recordedAt.get(s)!));
    assert.ok(
      lost.length === 0 || killedAt - oldestLost <= bound,
      `lost ${lost.length} records, the oldest ${killedAt - oldestLost} ms before the kill`,
    );
    assert.ok(lost.length <= (rate * bound) / 1000, `lost ${lost.length}`);
    // Nothing after a gap: what was written is a prefix of what was recorded.
    assert.equal(Math.max(...written) + 1, written.size);

    // The next writer on the folder cuts off any unfinished last line, so every file ends with a whole line.
    const next = writer(dir, { clock: systemClock });
    await next.close();
    for (const f of await files(dir)) assert.ok((await readFile(join(dir, f), 'utf8')).endsWith('\n'), f);
    assert.equal((await readAll({ dir })).got.length, got.length);
  });
});

describe('Data Capture retention', () => {
  async function put(dir: string, at: number, name: string, bytes: number, variant = 'v3') {
    const d = new Date(at);
    const p = (n: number) => String(n).padStart(2, '0');
    const path = join(
      dir,
      'demand-forecast--london',
      variant,
      `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${p(d.getUTCHours())}`,
      name,
    );
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, (SAGEMAKER_RECORD + '\n').repeat(Math.ceil(bytes / (SAGEMAKER_RECORD.length + 1))).slice(0, bytes - 1) + '\n');
    return path;
  }
  const exists = (p: string) =>
    stat(p).then(
      () => true,
      () => false,
    );

  test('hour folders older than the retention period are deleted, with their empty parents', async () => {
    const dir = await tempDir();
    const now = AT;
    const old = await put(dir, now - 40 * DAY, 'old.jsonl', 1000);
    const edge = await put(dir, now - 30 * DAY - 30 * 60_000, 'edge.jsonl', 1000); // its hour is not over 30 days old yet
    const recent = await put(dir, now - 10 * DAY, 'recent.jsonl', 1000, 'v2');
    const w = writer(dir, { clock: { now: () => now }, retention: { days: 30, maxBytes: 1024 ** 3 } });
    await w.close();
    assert.equal(await exists(old), false);
    assert.equal(await exists(dirname(dirname(old))), false, 'the emptied day folder is gone');
    assert.equal(await exists(dirname(dirname(dirname(old)))), true, 'the month folder still holds a recent day');
    assert.equal(await exists(edge), true);
    assert.equal(await exists(recent), true);
    assert.equal(w.stats().deletedFiles, 1);
  });

  test('past maxBytes, the oldest files go first, down to 90% of it', async () => {
    const dir = await tempDir();
    const paths: string[] = [];
    for (let h = 0; h < 10; h++)
      paths.push(await put(dir, AT - (10 - h) * HOUR, `00-00-000-aaaaaaaa-00000${h}.jsonl`, 10_000, h % 2 ? 'v3' : 'v4'));
    const w = writer(dir, { retention: { days: 30, maxBytes: 50_000 } });
    await w.close();
    const kept = await Promise.all(paths.map(exists));
    assert.deepEqual(kept, [false, false, false, false, false, false, true, true, true, true]);
    assert.equal(w.stats().diskBytes, 40_000);
  });

  test('a full folder is swept while writing, but the file being written is never deleted', async () => {
    const dir = await tempDir();
    const older = await put(dir, AT - 2 * HOUR, 'older.jsonl', 30_000);
    let t = AT;
    const sweeps = new Set<number | null>();
    const w = writer(dir, { clock: { now: () => (t += 1000) }, retention: { days: 30, maxBytes: 20_000 }, maxFileBytes: 1024 ** 2 });
    const body = Buffer.alloc(5000, 'x');
    for (let i = 0; i < 10; i++) {
      w.record(invocation({ inferenceId: String(i), requestBody: body, requestContentType: 'text/csv' }));
      await w.flush();
      await new Promise((r) => setTimeout(r, 20)); // let the sweep a full folder triggers run
      sweeps.add(w.stats().lastSweepAt);
    }
    await w.close();
    assert.ok(sweeps.size > 2, `swept ${sweeps.size} times`);
    assert.equal(await exists(older), false);
    assert.equal(w.stats().deletedFiles, 1);
    const { got } = await readAll({ dir });
    assert.equal(got.length, 10, 'the open file kept every record even though it alone is over maxBytes');
  });
});

describe('Data Capture reader', () => {
  test('round-trips bodies, content types, status and variant, newest first', async () => {
    const dir = await tempDir();
    const w = writer(dir, { maxFileBytes: 2000 });
    const bodies = [Buffer.from('{"x":1}'), Buffer.from('a,b\n1,2\n'), Buffer.from([0, 255, 10, 13]), Buffer.from('plain')];
    const types = ['application/json', 'text/csv', 'application/x-protobuf', undefined];
    for (let i = 0; i < 40; i++) {
      w.record(
        invocation({
          inferenceId: String(i),
          at: AT + i * 100_000,
          variant: i % 2 ? 'v3' : 'v4',
          status: i % 5 ? 200 : 500,
          requestBody: bodies[i % 4]!,
          requestContentType: types[i % 4],
        }),
      );
    }
    w.record(invocation({ group: 'paris', at: AT + 10 * HOUR }));
    await w.close();

    const { got, stats } = await readAll({ dir });
    assert.equal(stats.malformed + stats.partial, 0);
    assert.deepEqual(
      got.map((r) => r.inferenceId),
      Array.from({ length: 40 }, (_, i) => String(39 - i)),
    );
    for (const r of got) {
      const i = Number(r.inferenceId);
      assert.deepEqual(r.body, bodies[i % 4]);
      assert.equal(r.contentType, types[i % 4]);
      assert.equal(r.status, i % 5 ? 200 : 500);
      assert.equal(r.variant, i % 2 ? 'v3' : 'v4');
      assert.equal(r.at, AT + i * 100_000);
      assert.equal(r.latencyMs, 3.25);
      assert.equal(r.source, 'mlp');
      assert.deepEqual(r.response, { body: Buffer.from('{"demand":412.5}'), contentType: 'application/json' });
    }

    const window = await readAll({ dir, sinceMs: AT + 10 * 100_000, untilMs: AT + 29 * 100_000, limit: 5 });
    assert.deepEqual(
      window.got.map((r) => r.inferenceId),
      ['29', '28', '27', '26', '25'],
    );
    assert.deepEqual((await readAll({ dir, group: 'paris' })).got.length, 1);
    assert.deepEqual((await readAll({ dir, group: 'berlin' })).got, []);
  });

  test('round-trips bodies up to the 6 MB request limit', async () => {
    const dir = await tempDir();
    const w = writer(dir);
    const json = Buffer.from(JSON.stringify({ text: '"\\\n'.repeat(500_000) })); // ~2 MB, escapes nearly every byte
    const binary = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < binary.length; i++) binary[i] = (i * 7919) & 255;
    w.record(invocation({ inferenceId: 'json', requestBody: json }));
    w.record(invocation({ inferenceId: 'binary', requestBody: binary, requestContentType: 'application/octet-stream', at: AT + 1 }));
    await w.close();
    const { got } = await readAll({ dir });
    assert.deepEqual(
      got.map((r) => r.inferenceId),
      ['binary', 'json'],
    );
    assert.ok(got[0]!.body.equals(binary));
    assert.ok(got[1]!.body.equals(json));
  });

  test('reads plain SageMaker records (no mlp key): status unknown, variant from the folder', async () => {
    const dir = await tempDir();
    const folder = join(dir, 'demand-forecast--london', 'AllTraffic', '2026/11/20/23');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, '33-12-000-sagemaker.jsonl'), SAGEMAKER_RECORD + '\n');
    const { got } = await readAll({ dir });
    assert.equal(got.length, 1);
    assert.deepEqual(got[0], {
      at: Date.parse('2026-11-20T23:33:12Z'),
      variant: 'AllTraffic',
      body: Buffer.from('{"city":"london","week":12}'),
      contentType: 'application/json',
      response: { body: Buffer.from('{"demand":412.5}'), contentType: 'application/json' },
      status: null,
      latencyMs: null,
      eventId: '3f0c7c1e-2b8e-4f51-9a57-0c1d2f7e9b10',
      inferenceId: 'req-123',
      source: 'sagemaker',
      pipeline: null,
      group: null,
    });
  });

  test('skips malformed lines and a cut-short last line, and counts them', async () => {
    const dir = await tempDir();
    const folder = join(dir, 'demand-forecast--london', 'v3', '2026/11/20/23');
    await mkdir(folder, { recursive: true });
    const good = SAGEMAKER_RECORD;
    const noInput = JSON.stringify({
      captureData: { endpointOutput: { mode: 'OUTPUT', data: 'e30=', encoding: 'BASE64' } },
      eventMetadata: { inferenceTime: '2026-11-20T23:00:00Z' },
    });
    const badEncoding = good.replace('"encoding":"JSON"', '"encoding":"XML"');
    await writeFile(
      join(folder, 'a.jsonl'),
      [good, 'not json', '', '[1,2]', noInput, badEncoding, good].join('\n') + '\n' + good.slice(0, 40),
    );
    await writeFile(join(folder, 'b.jsonl'), good); // a whole record without its final newline still counts
    const { got, stats } = await readAll({ dir });
    assert.equal(got.length, 3);
    assert.equal(stats.malformed, 4);
    assert.equal(stats.partial, 1);
    assert.equal(stats.files, 2);
  });

  test('with a limit, reads the newest requests without reading older files', async () => {
    const dir = await tempDir();
    const w = writer(dir, { maxFileBytes: 4000 });
    for (let i = 0; i < 600; i++) w.record(invocation({ inferenceId: String(i), at: AT - 2 * HOUR + i * 10_000 }));
    await w.close();
    const all = await readAll({ dir });
    assert.equal(all.got.length, 600);
    const some = await readAll({ dir, limit: 25 });
    assert.deepEqual(some.got, all.got.slice(0, 25));
    assert.ok(some.stats.files < all.stats.files / 2, `${some.stats.files} of ${all.stats.files} files read`);
  });
});
