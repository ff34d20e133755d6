// Run by spawner.test.ts as an unprivileged user: starts N children whose sessions should get a
// CPU priority, waits (up to 5 s) until every one has it, and prints what each has and how long it took.
import { readFileSync } from 'node:fs';
import { createSpawner } from '../../../daemon/children/spawner.js';

const count = Number(process.argv[2] ?? 5);
const nice = Number(process.argv[3] ?? 5);
const spawner = createSpawner();
const children = Array.from({ length: count }, () =>
  spawner.spawn({ file: 'sleep', args: ['30'], cwd: '/', env: {}, sessionNice: nice }, () => undefined),
);
const pids = (await Promise.all(children.map((c) => c.pid))) as number[];
const nices = () => pids.map((pid) => Number(/nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))?.[1]));
const t0 = Date.now();
while (Date.now() - t0 < 5_000 && nices().some((n) => n !== nice)) await new Promise((r) => setTimeout(r, 20));
process.stdout.write(JSON.stringify({ nices: nices(), ms: Date.now() - t0 }));
for (const pid of pids) process.kill(-pid, 'SIGKILL');
await Promise.all(children.map((c) => c.closed));
