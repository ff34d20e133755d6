/**
 * What a weight change costs with router workers (docs/serving.md, "Router workers"): the time from a
 * change of the route table until every worker has acknowledged it (`table.inForce()`), over 300
 * changes of one pipeline's weights, with `pipelines` pipelines in the table.
 *
 *   npx tsx bench/route-changes.ts [pipelines 1] [workers 2]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../daemon/log.js';
import { createLiveMetrics } from '../daemon/serving/metrics/live-metrics.js';
import { startServingRouter } from '../daemon/serving/router/workers.js';
import { createRouteTable } from '../daemon/serving/router/routes.js';
const table = createRouteTable();
const pipelines = Array.from({ length: Number(process.argv[2] ?? 1) }, (_, i) => ({
  name: `p${i}`,
  groups: ['a'],
  timeoutMs: 1000,
  captureSamplingPercent: 100,
}));
const live = (p: string, w: number) => [
  { pipeline: p, group: 'a', name: 'v1', role: 'current' as const, weight: 100 - w, host: '127.0.0.1', port: 1 },
  { pipeline: p, group: 'a', name: 'v2', role: 'candidate' as const, weight: w, host: '127.0.0.1', port: 2 },
];
table.replace(
  pipelines,
  pipelines.flatMap((p) => live(p.name, 0)),
);
const workers = Number(process.argv[3] ?? 2);
const dir = mkdtempSync(join(tmpdir(), 'mlp-bench-routes-'));
const router = await startServingRouter({
  workers,
  host: '127.0.0.1',
  port: 0,
  table,
  metrics: createLiveMetrics(),
  capture: undefined,
  captureDir: join(dir, 'capture'),
  retention: { days: 1, maxBytes: 1e9 },
  log: createLogger({ level: 'warn' }),
});
const times: number[] = [];
for (let i = 0; i < 300; i++) {
  const t = performance.now();
  table.setPipeline(pipelines[0]!, live('p0', i % 2 ? 0 : 10));
  await table.inForce();
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
console.log(
  `workers ${workers}, ${pipelines.length} pipelines: weight change in force on every worker: p50 ${times[150]!.toFixed(2)} ms, p90 ${times[270]!.toFixed(2)} ms, max ${times[299]!.toFixed(2)} ms`,
);
await router.close();
rmSync(dir, { recursive: true, force: true });
