/** The model-server backends by kind; the docker one is loaded on first use (dockerode). */
import { MlpError } from '../../shared/errors.js';
import { createLocalServerBackend, type ServerBackend } from './servers.js';

export function createServerBackends(): { get(kind: 'local' | 'docker'): ServerBackend } {
  const local = createLocalServerBackend();
  let docker: Promise<ServerBackend> | undefined;
  const load = () => (docker ??= import('./dockerServer.js').then((m) => m.createDockerServerBackend()));
  const lazyDocker: ServerBackend = {
    kind: 'docker',
    async start(spec, onLine) {
      return (await load()).start(spec, onLine);
    },
    async reap(handle, serverId) {
      return (await load()).reap(handle, serverId);
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
