/**
 * What each operator command does. Promote, rollback, pause and resume act on the pipeline's active
 * rollout; with none there is nothing to act on, and the operator is told so.
 */
import { MlpError } from '../../shared/errors.js';
import type { OperatorCommand } from '../../shared/protocol.js';
import type { CommandHandler } from '../commands.js';
import type { Store } from '../store/db.js';

export function createApiHandlers(deps: { store: Store }): Partial<Record<OperatorCommand, CommandHandler>> {
  const needsActiveRollout: CommandHandler = async (cmd) => {
    const rollout = deps.store.rollouts.active(cmd.pipeline);
    if (!rollout) {
      throw new MlpError('conflict', `${cmd.pipeline} has no active rollout to ${cmd.command} (mlp status shows its last one)`);
    }
    throw new MlpError('unavailable', `${cmd.command} of a rollout is not available in this version of mlpd`);
  };
  return { promote: needsActiveRollout, rollback: needsActiveRollout, pause: needsActiveRollout, resume: needsActiveRollout };
}
