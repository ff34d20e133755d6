/**
 * A clock a test moves by hand: `now()` is a number, and wake-ups set on it fire, in time order, only
 * when `advance` carries the time past them. The controller's waits then take no real time and
 * cannot race the test.
 */
import type { Clock } from '../../../daemon/scheduler/clock.js';

export interface FakeClock extends Clock {
  /** Moves the time on by `ms` and wakes everything due by then, earliest first. */
  advance(ms: number): void;
  /** When the wake-ups still set (not yet due, not cancelled) are due. */
  pending(): number[];
}

export function createFakeClock(start = 1_000_000): FakeClock {
  let time = start;
  let nextId = 0;
  const wakeUps = new Map<number, { at: number; wake: () => void }>();
  const fireDue = () => {
    for (;;) {
      const due = [...wakeUps.entries()].filter(([, w]) => w.at <= time).sort(([, a], [, b]) => a.at - b.at)[0];
      if (!due) return;
      wakeUps.delete(due[0]);
      due[1].wake();
    }
  };
  return {
    now: () => time,
    wakeAt(at, wake) {
      const id = nextId++;
      wakeUps.set(id, { at, wake });
      // Already due: wake as a real timer would, after the caller returns.
      if (at <= time) queueMicrotask(fireDue);
      return () => void wakeUps.delete(id);
    },
    advance(ms) {
      time += ms;
      fireDue();
    },
    pending: () => [...wakeUps.values()].map((w) => w.at).sort((a, b) => a - b),
  };
}
