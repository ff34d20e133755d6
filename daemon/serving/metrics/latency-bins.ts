/**
 * Log-linear latency bins (HDR-histogram style) for quantiles over a time window in fixed memory: latencies
 * in whole microseconds, exact below 32 µs, then 16 bins per power of two up to 2^27 µs (134 s; anything
 * longer shares the last bin). A bin's middle is within 1/32 (3.2%) of every value in it.
 */
const LINEAR = 32;
const SUB_BITS = 4;
const SUB = 1 << SUB_BITS;
const FIRST_OCTAVE = 5; // log2(LINEAR)
const LAST_OCTAVE = 26;

export const LATENCY_BINS = LINEAR + (LAST_OCTAVE - FIRST_OCTAVE + 1) * SUB;
/** Largest relative distance between a value and the middle of its bin (above the exact range). */
export const LATENCY_BIN_RELATIVE_ERROR = 1 / (2 * SUB);
const MAX_MICROS = 2 ** (LAST_OCTAVE + 1) - 1;

/** The bin of a latency in ms. */
export function latencyBin(latencyMs: number): number {
  let us = Math.round(latencyMs * 1000);
  if (!(us > 0)) return 0; // negative or NaN
  if (us < LINEAR) return us;
  if (us > MAX_MICROS) us = MAX_MICROS;
  const octave = 31 - Math.clz32(us);
  return LINEAR + (octave - FIRST_OCTAVE) * SUB + ((us >>> (octave - SUB_BITS)) & (SUB - 1));
}

/** The latency (ms) a bin stands for: its middle. */
export function binLatencyMs(bin: number): number {
  if (bin < LINEAR) return bin / 1000;
  const j = bin - LINEAR;
  const octave = FIRST_OCTAVE + (j >> SUB_BITS);
  const width = 2 ** (octave - SUB_BITS);
  const low = (SUB + (j & (SUB - 1))) * width;
  return (low + (width - 1) / 2) / 1000;
}
