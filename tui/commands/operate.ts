/** `mlp deploy|promote|rollback|pause|resume <pipeline>`: operator commands sent to the daemon. */
import { MlpError } from '../../shared/errors.js';
import type { OperatorCommand } from '../../shared/protocol.js';
import { clientSettings, connect } from '../client.js';
import { watchRollout } from './follow-rollout.js';

export interface OperateOptions {
  /** `deploy --version vN`: that version in every group that has it. */
  version?: string;
  /** `deploy --version GROUP=vN ...`: these versions, one per group. */
  versions?: Record<string, string>;
  /** `deploy --wait`: follow the rollout; exit 1 unless it ends promoted. */
  wait?: boolean;
  json: boolean;
}

export async function operate(command: OperatorCommand, pipeline: string, opts: OperateOptions): Promise<number> {
  const conn = await connect(clientSettings());
  const watcher = opts.wait ? watchRollout(conn, pipeline, (line) => process.stderr.write(line + '\n')) : null;
  try {
    const result = await conn.command({
      command,
      pipeline,
      ...(opts.version ? { version: opts.version } : {}),
      ...(opts.versions ? { versions: opts.versions } : {}),
    });
    const message =
      typeof result === 'object' && result && 'message' in result ? String(result.message) : `${command} ${pipeline}: accepted`;
    if (!watcher) {
      console.log(opts.json ? JSON.stringify(result ?? null) : message);
      return 0;
    }
    process.stderr.write(message + '\n');
    const rolloutId = (result as { rolloutId?: unknown }).rolloutId;
    if (typeof rolloutId !== 'number') throw new MlpError('internal', `mlpd's answer to ${command} names no rollout to follow`);
    const r = await watcher.follow(rolloutId);
    const outcome = `${pipeline}: rollout #${r.id} ${r.phase.replace('_', ' ')}${r.reason ? `: ${r.reason}` : ''}`;
    console.log(opts.json ? JSON.stringify({ rolloutId: r.id, phase: r.phase, reason: r.reason, message: outcome }) : outcome);
    return r.phase === 'promoted' ? 0 : 1;
  } finally {
    watcher?.stop();
    conn.close();
  }
}
