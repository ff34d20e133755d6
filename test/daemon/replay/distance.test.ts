/** The distribution metrics of replay checks against values worked out by hand. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  jensenShannonDistance,
  ksDistance,
  normalisedWasserstein,
  psi,
  quantileSorted,
  standardDeviation,
  wasserstein1,
} from '../../../daemon/replay/distance.js';

const close = (actual: number, expected: number, eps = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= eps, `expected ${expected}, got ${actual}`);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('quantiles', () => {
  it('interpolates between the closest ranks', () => {
    close(quantileSorted([1, 2, 3, 4], 0.5), 2.5);
    close(quantileSorted([1, 2, 3, 4], 0), 1);
    close(quantileSorted([1, 2, 3, 4], 1), 4);
    // (n - 1) * 0.1 = 9.9 → between the 10th (10) and 11th (11) values of 1..100
    close(quantileSorted(range(1, 100), 0.1), 10.9);
    assert.ok(Number.isNaN(quantileSorted([], 0.5)));
  });
});

describe('PSI', () => {
  it('is 0 for the same values', () => {
    close(psi(range(1, 100), range(1, 100)), 0);
  });

  it('with half the deciles empty on the candidate side', () => {
    // The current's deciles split 1..100 into ten bins of 10 (10%). The candidate 1..50 fills the first
    // five with 20% each and leaves five empty, which count as 0.0001.
    const expected = 5 * (0.2 - 0.1) * Math.log(0.2 / 0.1) + 5 * (0.0001 - 0.1) * Math.log(0.0001 / 0.1);
    close(psi(range(1, 100), range(1, 50)), expected);
    close(expected, 3.7969979, 1e-6);
  });

  it('puts values beyond the current range in the outer bins', () => {
    // Everything above the 9th decile lands in the last bin: 100% there against 10%, and the other
    // nine bins are empty.
    const expected = (1 - 0.1) * Math.log(1 / 0.1) + 9 * (0.0001 - 0.1) * Math.log(0.0001 / 0.1);
    close(psi(range(1, 100), [500, 600, 700]), expected);
  });

  it('merges tied deciles so constant outputs do not make empty bins', () => {
    close(psi([5, 5, 5, 5], [5, 5]), 0);
  });
});

describe('KS distance', () => {
  it('is the largest gap between the CDFs', () => {
    // F_current − F_candidate at 1..6: .25, .5, .5, .5, .25, 0
    close(ksDistance([1, 2, 3, 4], [3, 4, 5, 6]), 0.5);
    close(ksDistance([1, 2, 3], [1, 2, 3]), 0);
    close(ksDistance([1, 2], [10, 20]), 1);
  });
});

describe('Wasserstein-1', () => {
  it('is the shift for a shifted sample, normalised by the current standard deviation', () => {
    close(wasserstein1([1, 2, 3, 4], [3, 4, 5, 6]), 2);
    // σ(1, 2, 3, 4) = √1.25
    close(standardDeviation([1, 2, 3, 4]), Math.sqrt(1.25));
    close(normalisedWasserstein([1, 2, 3, 4], [3, 4, 5, 6]), 2 / Math.sqrt(1.25));
  });

  it('handles samples of different sizes', () => {
    // CDFs: current steps 0→.5 at 0, →1 at 1; candidate 0→1 at 1. Area: .5 × (1 − 0).
    close(wasserstein1([0, 1], [1, 1, 1]), 0.5);
  });

  it('divides by at least 0.001 when the current answers are constant', () => {
    close(normalisedWasserstein([2, 2, 2], [2, 2, 2]), 0);
    close(normalisedWasserstein([2, 2], [3, 3]), 1 / 0.001);
  });
});

describe('Jensen–Shannon distance', () => {
  it('is 0 for the same shares and 1 for disjoint categories (log base 2)', () => {
    close(jensenShannonDistance(['a', 'b', 'a', 'b'], ['b', 'a']), 0);
    close(jensenShannonDistance(['a', 'a'], ['b']), 1);
  });

  it('for a half/half against an all-a sample', () => {
    // m = (.75, .25); KL(p‖m) = .5·log2(.5/.75) + .5·log2(.5/.25); KL(q‖m) = log2(1/.75)
    const divergence = 0.5 * (0.5 * Math.log2(0.5 / 0.75) + 0.5 * Math.log2(2)) + 0.5 * Math.log2(1 / 0.75);
    close(jensenShannonDistance(['a', 'b'], ['a', 'a', 'a']), Math.sqrt(divergence));
    close(Math.sqrt(divergence), 0.557923, 1e-6);
  });
});
