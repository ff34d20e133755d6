/**
 * Data Capture costs on this machine (figures in docs/serving.md, "Data Capture"):
 *   3. at a steady offered load (default 40,000 records/s), the share of the main thread the writer takes
 *      and the longest event-loop stall its batches cause (first, while the heap is small);
 *   1. what `record()` costs the request path;
 *   2. the most records/s the writer sustains (serialise + append), with typical small JSON bodies.
 * Usage: node --import tsx bench/capture.ts [records/s for 3] [seconds]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createCaptureWriter } from '../daemon/serving/capture/writer.js';
import type { CaptureSink, Invocation } from '../daemon/serving/types.js';

const rate = Number(process.argv[2] ?? 40_000);
const seconds = Number(process.argv[3] ?? 5);
const request = Buffer.from(JSON.stringify({ city: 'london', week: 12, features: [1.5, 2.25, 3, 4, 5, 6, 7, 8] }));
const response = Buffer.from(JSON.stringify({ demand: 412.5 }));
let seq = 0;
const invocation = (): Invocation => ({
  pipeline: 'demand-forecast',
  group: 'london',
  variant: seq % 10 ? 'v3' : 'v4',
  at: Date.now(),
  latencyMs: 1.234,
  status: 200,
  requestBody: request,
  requestContentType: 'application/json',
  responseBody: response,
  responseContentType: 'application/json',
  inferenceId: `req-${seq++}`,
});
const retention = { days: 30, maxBytes: 100 * 1024 ** 3 };
const root = await mkdtemp(join(tmpdir(), 'mlp-bench-capture-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

try {
  // 3. Steady offered load: the main thread's busy share with a sink that does nothing, then with the writer;
  //    the difference is what the writer costs. Event-loop stalls are measured after a second of warm-up.
  {
    const steady = async (sink: CaptureSink) => {
      const delay = monitorEventLoopDelay({ resolution: 1 });
      const start = performance.now();
      let sent = 0;
      let before = performance.eventLoopUtilization();
      let measuredFrom = start;
      let warm = false;
      while (performance.now() - start < (seconds + 1) * 1000) {
        if (!warm && performance.now() - start >= 1000) {
          warm = true;
          before = performance.eventLoopUtilization();
          measuredFrom = performance.now();
          delay.enable();
        }
        const due = Math.floor(((performance.now() - start) / 1000) * rate);
        while (sent < due) {
          sink.record(invocation());
          sent++;
        }
        await sleep(1);
      }
      delay.disable();
      const elu = performance.eventLoopUtilization(before);
      return { busy: elu.active / (performance.now() - measuredFrom), p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 };
    };
    const base = await steady({ record: () => undefined });
    const w = createCaptureWriter({ dir: join(root, 'c'), retention });
    const withWriter = await steady(w);
    await w.close();
    const st = w.stats();
    const perRecordUs = ((withWriter.busy - base.busy) * 1e6) / rate;
    console.log(
      `steady ${rate} records/s for ${seconds} s: written ${st.written}, dropped ${st.dropped}; main thread busy ${(base.busy * 100).toFixed(1)}% without capture, ` +
        `${(withWriter.busy * 100).toFixed(1)}% with it: the writer costs ${perRecordUs.toFixed(2)} µs per record; ` +
        `event-loop delay p99 ${withWriter.p99.toFixed(1)} ms, max ${withWriter.max.toFixed(1)} ms (without capture: ${base.p99.toFixed(1)}, ${base.max.toFixed(1)} ms)`,
    );
  }

  // 1. record(): what the request path pays, in the steady state (queues reused), timing only the calls.
  {
    const w = createCaptureWriter({ dir: join(root, 'a'), retention });
    const invs = Array.from({ length: 1000 }, invocation);
    let ns = 0n;
    let calls = 0;
    for (let round = 0; round < 300; round++) {
      const t = process.hrtime.bigint();
      for (const inv of invs) w.record(inv);
      if (round >= 100) {
        ns += process.hrtime.bigint() - t;
        calls += invs.length;
      }
      await w.flush();
    }
    await w.close();
    console.log(`record(): ${(Number(ns) / calls).toFixed(0)} ns per call`);
  }

  // 2. Sustained: offer records as fast as the writer takes them, yielding between bursts.
  {
    const w = createCaptureWriter({ dir: join(root, 'b'), retention });
    const until = performance.now() + seconds * 1000;
    let n = 0;
    while (performance.now() < until) {
      for (let i = 0; i < 2000; i++) w.record(invocation());
      n += 2000;
      await new Promise((r) => setImmediate(r));
    }
    await w.close();
    const st = w.stats();
    const secs = seconds;
    console.log(
      `flat out for ${secs} s: offered ${n}, written ${st.written} (${Math.round(st.written / secs)} records/s, ${(st.bytesWritten / secs / 1024 ** 2).toFixed(1)} MB/s), dropped ${st.dropped}`,
    );
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
