import { randomBytes } from 'node:crypto';

// Crockford base32, lower case: no i, l, o, u, so an id read aloud or retyped survives.
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * A run id, `r-` + 10 chars of millisecond time + 16 random chars (ULID layout): sorts by creation
 * time, is safe in paths and environment variables (MLP_RUN_ID), and needs no coordination.
 */
export function newRunId(now: number): string {
  return `r-${sortableId(now)}`;
}

/** A notification's event id (X-Mlp-Event-Id), `e-` + the same layout as a run id. */
export function newEventId(now: number): string {
  return `e-${sortableId(now)}`;
}

function sortableId(now: number): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  const bytes = randomBytes(16);
  let random = '';
  for (const b of bytes) random += ALPHABET[b % 32];
  return `${time}${random}`;
}
