/**
 * Live metrics costs (figures in docs/serving.md, "Live metrics"): `observe()` per call in the steady state,
 * the heap it allocates (should be none), and a snapshot of many variants.
 * Usage: node --import tsx --expose-gc bench/metrics.ts
 */
import { createLiveMetrics } from '../daemon/serving/metrics/live-metrics.js';

const gc = (globalThis as { gc?: () => void }).gc;
let t = Date.now();
const m = createLiveMetrics({ clock: { now: () => t } });
const variants = ['v1', 'v2', 'v3', 'v4'];
const N = 5_000_000;

function run(label: string, pick: (i: number) => string) {
  // Warm up (first observations allocate the variant's state), then measure.
  for (let i = 0; i < 100_000; i++) m.observe('demand-forecast', 'london', pick(i), 200, 1 + (i % 50), t + i / 40);
  gc?.();
  const heap = process.memoryUsage().heapUsed;
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    t += 0.025; // 40,000 requests/s
    m.observe('demand-forecast', 'london', pick(i), i % 100 ? 200 : 503, 0.2 + (i % 997) / 100, t);
  }
  const ns = Number(process.hrtime.bigint() - start) / N;
  const grown = process.memoryUsage().heapUsed - heap;
  console.log(
    `observe() ${label}: ${ns.toFixed(1)} ns per call; heap ${grown >= 0 ? '+' : ''}${(grown / 1024).toFixed(0)} KiB over ${N / 1e6}M calls${gc ? '' : ' (run with --expose-gc for a clean figure)'}`,
  );
}

run('same variant', () => 'v3');
run('4 variants interleaved', (i) => variants[i & 3]!);

for (let g = 0; g < 200; g++)
  for (const v of ['v1', 'v2']) for (let i = 0; i < 50; i++) m.observe('p', `g${g}`, v, 200, 1 + i, t - i * 100);
const start = process.hrtime.bigint();
const rounds = 20;
let count = 0;
for (let r = 0; r < rounds; r++) count = m.snapshot().length;
console.log(`snapshot() of ${count} variants: ${(Number(process.hrtime.bigint() - start) / rounds / 1e6).toFixed(2)} ms`);
