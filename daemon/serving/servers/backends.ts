/** The model-server backends by kind; the docker one is loaded on first use (dockerode). */
import { MlpError } from '../../../shared/errors.js';
import type { ChildLedger } from '../../children/ledger.js';
import { createLocalServerBackend, type ServerBackend } from './servers.js';

export interface ServerBackendOptions {
  ledger?: ChildLedger;
  /** A warning about a pipeline's model server that belongs in its log (`mlp tail`), not only in the server's output. */
  warn?: (pipeline: string, message: string) => void;
  /** `serving.starting_nice` (local servers). */
  startingNice?: () => number;
}

export function createServerBackends(opts: ServerBackendOptions = {}): { get(kind: 'local' | 'docker'): ServerBackend } {
  const local = createLocalServerBackend(opts);
  let docker: Promise<ServerBackend> | undefined;
  const load = () => (docker ??= import('./docker-server.js').then((m) => m.createDockerServerBackend(opts)));
  const lazyDocker: ServerBackend = {
    kind: 'docker',
    async start(spec, onLine) {
      return (await load()).start(spec, onLine);
    },
  };
  return {
    get(kind) {
      if (kind === 'local') return local;
      if (kind === 'docker') return lazyDocker;
      throw new MlpError('internal', `no model-server backend '${String(kind)}'`);
    },
  };
}
