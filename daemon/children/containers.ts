/** Containers of the ledger, found by their `mlp.child` label: stopped (SIGTERM, SIGKILL after the grace) and removed. */
import Docker from 'dockerode';
import { CHILD_LABEL } from './ledger.js';

export async function removeLabelledContainers(labelValue: string, graceMs: number, socketPath?: string): Promise<number> {
  const docker = socketPath ? new Docker({ socketPath }) : new Docker();
  const left = await docker.listContainers({ all: true, filters: { label: [`${CHILD_LABEL}=${labelValue}`] } });
  await Promise.all(
    left.map(async (c) => {
      const container = docker.getContainer(c.Id);
      await container.stop({ t: Math.max(1, Math.ceil(graceMs / 1000)) }).catch(() => undefined); // already stopped
      await container.remove({ force: true, v: true });
    }),
  );
  return left.filter((c) => c.State === 'running').length;
}
