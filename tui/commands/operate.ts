/** `mlp deploy|promote|rollback|pause|resume <pipeline>`: operator commands sent to the daemon. */
import type { OperatorCommand } from '../../shared/protocol.js';
import { clientSettings, connect } from '../client.js';

export async function operate(command: OperatorCommand, pipeline: string, opts: { version?: string; json: boolean }): Promise<number> {
  const conn = await connect(clientSettings());
  try {
    const result = await conn.command({ command, pipeline, ...(opts.version ? { version: opts.version } : {}) });
    if (opts.json) console.log(JSON.stringify(result ?? null));
    else console.log(typeof result === 'object' && result && 'message' in result ? String(result.message) : `${command} ${pipeline}: accepted`);
    return 0;
  } finally {
    conn.close();
  }
}
