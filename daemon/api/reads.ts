/**
 * What clients read through the API: who a secret belongs to, the fleet's snapshots, one pipeline's
 * full view and its stored log lines. A name that is not in force is answered with not_found; the
 * tail's names the pipelines that are, so a typo is fixed from the message.
 */
import { MlpError } from '../../shared/errors.js';
import type { LogWriter } from '../log-writer.js';
import { buildFullSnapshot, buildSnapshot, pipelineView, type StatusSources } from '../status.js';
import type { ApiHandlers } from './server.js';

export type ApiReads = Pick<ApiHandlers, 'authenticate' | 'sessionValid' | 'snapshot' | 'fullSnapshot' | 'detail' | 'tail'>;

export function createApiReads(deps: { sources: StatusSources; logs: LogWriter; now?: () => number }): ApiReads {
  const { sources, logs } = deps;
  const { registry, store } = sources;
  const now = deps.now ?? Date.now;
  return {
    authenticate(secret) {
      const token = store.tokens.verify(secret);
      return token ? { token: token.name, role: token.role } : null;
    },
    sessionValid: (session) => store.tokens.isLive(session.token),
    snapshot: () => buildSnapshot(sources, now()),
    fullSnapshot: (id) => buildFullSnapshot(sources, now(), id),
    detail(name) {
      const p = registry.get(name);
      if (!p) throw new MlpError('not_found', `no pipeline named '${name}' in force`);
      return pipelineView(p, sources);
    },
    tail(pipeline, q) {
      logs.flush(); // lines still in the batch belong to the answer, not to the live events after it
      const lines = store.logs.query({ pipeline, ...(q.sinceMs !== undefined ? { sinceMs: q.sinceMs } : {}), limit: q.limit, from: 'end' });
      // A removed pipeline's lines are still kept (and shown); a name that never had any is a mistake.
      if (lines.length === 0 && !registry.get(pipeline)) {
        const known = registry.list().map((p) => p.name);
        throw new MlpError('not_found', `no pipeline named '${pipeline}'${known.length ? ` (known: ${known.join(', ')})` : ''}`);
      }
      return lines;
    },
  };
}
