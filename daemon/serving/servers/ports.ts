/**
 * Ports for model servers. A server is told its PORT and binds it itself (the SageMaker container
 * contract), so between choosing a port and the server listening there is a window in which someone
 * else may take it. Asking the OS for any free port (bind to 0) chooses from the ephemeral range, the
 * same ports the OS gives every outgoing connection: on a busy daemon (pings, the router's upstream
 * connections, replay) one of them could take the port first, and then the server cannot listen
 * (EADDRINUSE), or, worse, its readiness probe is answered by another server already on that port and
 * a server that is about to exit is routed to.
 *
 * So ports come from a range the OS never hands out on its own: just below the ephemeral range
 * (Linux: /proc/sys/net/ipv4/ip_local_port_range). Each is checked free by binding it, is not handed
 * out again while held, and the cursor moves on round the range, so a port given back is reused only
 * after the rest of the range (its old connections' TIME_WAIT is long over by then). Where the OS
 * leaves no room outside its range, the pool falls back to the OS's choice, still never handing out a
 * port it holds.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

export interface PortPool {
  /** A port nobody listens on now and this pool has not handed out (until it is given back). */
  take(): Promise<number>;
  /** The server on `port` has stopped. */
  give(port: number): void;
  /** The ports this pool chooses from, or null when the OS chooses. */
  readonly range: readonly [number, number] | null;
}

/** How many ports the pool spans when it has room for them. */
const POOL_SIZE = 10_000;
/** Below this, ports are privileged or commonly taken by well-known services. */
const LOWEST = 10_000;

/** The OS's ephemeral range (where it picks ports for outgoing connections and bind to 0). */
export function ephemeralRange(file = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] {
  try {
    const [lo, hi] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    if (lo && hi && lo <= hi) return [lo, hi];
  } catch {
    // not Linux
  }
  return [49_152, 65_535]; // IANA's dynamic range, what macOS and Windows use
}

/** The range outside the ephemeral one that the pool uses, or null when there is no room for one. */
export function poolRange(ephemeral: readonly [number, number]): [number, number] | null {
  const [lo, hi] = ephemeral;
  if (lo - 1 - LOWEST >= 1_000) return [Math.max(LOWEST, lo - POOL_SIZE), lo - 1];
  if (65_535 - hi >= 1_000) return [hi + 1, Math.min(65_535, hi + POOL_SIZE)];
  return null;
}

export function createPortPool(host: string, opts: { range?: [number, number] | null } = {}): PortPool {
  const range = opts.range === undefined ? poolRange(ephemeralRange()) : opts.range;
  const held = new Set<number>();
  // A random start, so two daemons on one machine do not walk the same ports in step.
  let cursor = range ? range[0] + Math.floor(Math.random() * (range[1] - range[0] + 1)) : 0;

  const fromRange = async ([first, last]: [number, number]): Promise<number> => {
    const size = last - first + 1;
    for (let tried = 0; tried < size; tried++) {
      const port = cursor;
      cursor = cursor >= last ? first : cursor + 1;
      if (held.has(port)) continue;
      if (await bindable(host, port)) return port;
    }
    throw new Error(`no free port for a model server between ${first} and ${last} on ${host}`);
  };
  const fromOs = async (): Promise<number> => {
    for (;;) {
      const port = await osPort(host);
      if (!held.has(port)) return port;
    }
  };

  return {
    range,
    async take() {
      const port = range ? await fromRange(range) : await fromOs();
      held.add(port);
      return port;
    },
    give(port) {
      held.delete(port);
    },
  };
}

/** True when nothing listens on `port` now (binding it succeeds). */
function bindable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** The OS's choice of a free port. */
function osPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
