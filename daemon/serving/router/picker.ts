/**
 * Which variant answers the next request of a group: smooth weighted round-robin (nginx's
 * algorithm), so a 90/10 split is exactly 900/100 over 1,000 requests and the minority variant's
 * requests are spread evenly instead of arriving in bursts. Data Capture sampling uses the same idea:
 * 10% means every tenth invocation, not a coin flip per request.
 */
import type { GroupRoute, VariantTarget } from '../types.js';

export class GroupPicker<Slot extends { readonly target: VariantTarget }> {
  private readonly current: number[];
  private readonly weights: number[];
  private readonly total: number;
  private sampled = 0;

  constructor(
    readonly route: GroupRoute,
    /** One per live variant, in the route's order. */
    readonly slots: readonly Slot[],
  ) {
    this.weights = slots.map((s) => (Number.isFinite(s.target.weight) && s.target.weight > 0 ? s.target.weight : 0));
    this.current = slots.map(() => 0);
    this.total = this.weights.reduce((a, b) => a + b, 0);
  }

  /** The next variant by weight; null when no live variant has a weight above 0. */
  next(): Slot | null {
    const { weights, current } = this;
    let best = -1;
    let bestValue = -Infinity;
    for (let i = 0; i < weights.length; i++) {
      const w = weights[i]!;
      if (w === 0) continue;
      const c = current[i]! + w;
      current[i] = c;
      if (c > bestValue) {
        bestValue = c;
        best = i;
      }
    }
    if (best < 0) return null;
    current[best]! -= this.total;
    return this.slots[best]!;
  }

  /** The live variant a request pins by name, or by role (`current`, `candidate`). */
  find(name: string): Slot | null {
    for (const s of this.slots) if (s.target.name === name) return s;
    if (name === 'current' || name === 'candidate') for (const s of this.slots) if (s.target.role === name) return s;
    return null;
  }

  /** Whether this invocation goes to Data Capture: exactly `captureSamplingPercent` of them. */
  sample(): boolean {
    const percent = this.route.captureSamplingPercent;
    if (percent >= 100) return true;
    if (!(percent > 0)) return false;
    this.sampled += percent;
    if (this.sampled < 100) return false;
    this.sampled -= 100;
    return true;
  }
}
