/**
 * TUI frame-time benchmark (issue 6: "a 1,000-pipeline fleet renders and scrolls without visible
 * lag"; figures in docs/tui.md, "TUI performance").
 *
 * The real App and provider render through Ink (ink-testing-library's fake 100-column terminal, the
 * App told it has 30 rows) a fleet of 1,000 pipelines in mixed phases. Then, one at a time, events go
 * through the store the live connection feeds (`fleet` events: a moved traffic split or a new phase,
 * and a shifting pipeline's new traffic figures), and ↓ is typed 1,000 times. A frame's time runs from the dispatch or
 * key until Ink has written the new frame; Ink is in debug mode, so every commit writes a frame at
 * once instead of at its 30 fps throttle, which is what makes a frame's cost measurable.
 *
 * Usage: npm run bench:tui [-- --updates 500 --presses 1000 --pipelines 1000]
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { createElement } from 'react';
import { render } from 'ink-testing-library';
import { App } from '../tui/app.js';
import { TuiProvider } from '../tui/provider.js';
import { createFleetStore } from '../tui/state/store.js';
import { summaryOf } from '../shared/fleet-summary.js';
import type { DaemonEvent, PipelineView, RolloutPhase } from '../shared/protocol.js';
import { blockedByReplay, metrics, NOW, pipeline, rollout, shifting } from '../test/tui/fixtures.js';
import { fakeActions, fleetState, KEY } from '../test/tui/render.js';

const { values } = parseArgs({
  options: {
    pipelines: { type: 'string', default: '1000' },
    updates: { type: 'string', default: '500' },
    presses: { type: 'string', default: '1000' },
  },
});
const PIPELINES = Number(values.pipelines);
const UPDATES = Number(values.updates);
const PRESSES = Number(values.presses);
const COLUMNS = 100;
const ROWS = 30;

/** Deterministic, so runs compare. */
let seed = 42;
const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;

const name = (i: number) => `pipeline-${String(i).padStart(4, '0')}`;

/** Every sixth pipeline shifting; the rest spread over the other phases a fleet shows. */
function fleetPipeline(i: number): PipelineView {
  const n = name(i);
  switch (i % 6) {
    case 0:
      return shifting(n, 10 + (i % 9) * 10, i % 4);
    case 1:
      return blockedByReplay(n);
    case 2:
      return pipeline(n, { rollout: rollout({ phase: 'promoted', candidateWeight: 100, finishedAt: NOW - 60_000 }) });
    case 3:
      return pipeline(n, { rollout: rollout({ phase: 'paused', pausedFrom: 'shifting', candidateWeight: 40 }) });
    case 4:
      return pipeline(n, { rollout: rollout({ phase: 'replaying', candidateWeight: 0 }) });
    default:
      return pipeline(n);
  }
}

const UPDATE_PHASES: RolloutPhase[] = ['shifting', 'paused', 'rolled_back', 'promoted'];

/**
 * Alternates a `fleet` event with a moved split or a new phase, and one with the traffic figures of a
 * shifting pipeline (what the daemon sends for the pipelines that served since the last tick).
 */
function update(k: number): DaemonEvent {
  const i = Math.floor(random() * PIPELINES);
  if (k % 2 === 0) {
    const weight = 10 + Math.floor(random() * 9) * 10;
    const p = shifting(name(i), weight, Math.floor(random() * 10));
    const phase = UPDATE_PHASES[k % UPDATE_PHASES.length]!;
    return { kind: 'fleet', at: NOW + k * 250, pipelines: [summaryOf({ ...p, rollout: { ...p.rollout!, phase } })] };
  }
  const target = shifting(name(i - (i % 6)), 10 + (i % 9) * 10, i % 4);
  const requests = 200 + Math.floor(random() * 800);
  const variants = target.variants.map((v) => ({
    ...v,
    metrics: v.role === 'candidate' ? metrics(requests / 4, Math.floor(random() * 20)) : metrics(requests, 1),
  }));
  return { kind: 'fleet', at: NOW + k * 250, pipelines: [summaryOf({ ...target, variants })] };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface Row {
  what: string;
  frames: number;
  p50: number;
  p95: number;
  max: number;
}

function summarise(what: string, times: number[]): Row {
  const s = [...times].sort((a, b) => a - b);
  return { what, frames: s.length, p50: percentile(s, 50), p95: percentile(s, 95), max: s.at(-1)! };
}

async function main() {
  const fleet = Array.from({ length: PIPELINES }, (_, i) => fleetPipeline(i));
  const store = createFleetStore(fleetState(fleet));

  // Every frame Ink writes resolves the waiter the current measurement set up.
  let framesWritten = 0;
  let frameWritten: (() => void) | null = null;
  const t0Render = performance.now();
  const app = render(
    createElement(TuiProvider, { store, actions: fakeActions(), children: createElement(App, { columns: COLUMNS, rows: ROWS }) }),
  );
  const firstFrameMs = performance.now() - t0Render;
  const stdout = app.stdout as unknown as { write(s: string): void };
  const write = stdout.write.bind(stdout);
  stdout.write = (s: string) => {
    write(s);
    framesWritten++;
    frameWritten?.();
  };
  if (!new RegExp(`1-\\d+ of ${PIPELINES}`).test(app.lastFrame() ?? ''))
    throw new Error(`the first frame does not show the fleet:\n${app.lastFrame()}`);

  /** Runs `act` and resolves with the ms until Ink wrote the frame it caused (null: no frame within 1 s). */
  const measure = (act: () => void) =>
    new Promise<number | null>((resolve) => {
      const before = framesWritten;
      const start = performance.now();
      const timer = setTimeout(() => ((frameWritten = null), resolve(null)), 1_000);
      frameWritten = () => {
        frameWritten = null;
        clearTimeout(timer);
        resolve(performance.now() - start);
      };
      act();
      if (framesWritten > before && frameWritten) frameWritten();
    });

  const updateTimes: number[] = [];
  let missed = 0;
  for (let k = 0; k < UPDATES; k++) {
    const event = update(k);
    const ms = await measure(() => store.dispatch({ type: 'event', event }));
    if (ms === null) missed++;
    else updateTimes.push(ms);
  }

  const pressTimes: number[] = [];
  for (let k = 0; k < PRESSES; k++) {
    const ms = await measure(() => app.stdin.write(KEY.down));
    if (ms === null) missed++;
    else pressTimes.push(ms);
  }
  const selected = /› (pipeline-\d+)/.exec(app.lastFrame() ?? '')?.[1];
  app.unmount();

  const rows = [summarise(`${UPDATES} updates`, updateTimes), summarise(`${PRESSES} ↓ presses`, pressTimes)];
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  console.log(`TUI frame times: ${PIPELINES} pipelines at ${COLUMNS}x${ROWS}; ${cpus().length} CPUs (${cpu}), Node ${process.version}`);
  console.log(
    `first frame: ${firstFrameMs.toFixed(1)} ms; after ${PRESSES} ↓ the selection is ${selected ?? '(not shown)'}; ${missed} actions drew no frame`,
  );
  console.log('| what | frames | p50 ms | p95 ms | max ms |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.what} | ${r.frames} | ${r.p50.toFixed(2)} | ${r.p95.toFixed(2)} | ${r.max.toFixed(2)} |`);
}

await main();
