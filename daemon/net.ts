/** Listening sockets: one place that binds, reports the port it got, and explains bind failures. */
import type { Server } from 'node:net';
import { MlpError } from '../shared/errors.js';

/** Binds `server` and resolves with the port (useful with port 0); a bind failure says what to do. */
export async function listen(server: Server, what: string, host: string, port: number): Promise<number> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const where = `cannot listen for ${what} on ${host}:${port}`;
    if (code === 'EADDRINUSE') throw new MlpError('unavailable', `${where}: the port is in use (another mlpd? pick another port)`);
    if (code === 'EACCES') throw new MlpError('unavailable', `${where}: permission denied (ports below 1024 need privileges)`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new MlpError('unavailable', `${where}: no such address on this machine`);
    throw err;
  }
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}

/** A host as it goes into a URL (IPv6 literals in brackets). */
export const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** Whether binding `host` keeps a port to this machine (no other machine can connect). */
export const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
