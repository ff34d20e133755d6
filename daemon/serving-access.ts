/**
 * Who can call the models (docs/security.md): with MLP_SERVE_TOKEN, only callers that carry it;
 * without, anyone who reaches the router's port. Said once at start, as a warning when that port
 * is reachable from other machines.
 */
import type { Logger } from './log.js';
import { isLoopback } from './net.js';

export function sayServingAccess(log: Logger, opts: { serveUrl: string; host: string; token: string | undefined }): void {
  if (opts.token !== undefined) log.info('serving', `${opts.serveUrl} requires the serving token (MLP_SERVE_TOKEN) on every invocation`);
  else if (!isLoopback(opts.host)) {
    log.warn(
      'serving',
      `${opts.serveUrl} is reachable from the network and has no authentication: anyone who reaches it can call every model; set MLP_SERVE_TOKEN`,
    );
  }
}
