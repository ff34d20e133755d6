/**
 * What each operator command does. `deploy` queues a run of the pipeline now (train; the rollout of
 * what it produced follows once gated rollouts exist). Promote, rollback, pause and resume act on
 * the pipeline's active rollout; with none there is nothing to act on, and the operator is told so.
 */
import { MlpError } from '../../shared/errors.js';
import type { OperatorCommand } from '../../shared/protocol.js';
import type { CommandHandler } from '../commands.js';
import type { RunQueue } from '../runs/queue.js';
import type { Store } from '../store/db.js';
import type { Run } from '../store/runs.js';

export function createApiHandlers(deps: { store: Store; queue: RunQueue; publishRun(run: Run): void }): Partial<Record<OperatorCommand, CommandHandler>> {
  const needsActiveRollout: CommandHandler = async (cmd) => {
    const rollout = deps.store.rollouts.active(cmd.pipeline);
    if (!rollout) {
      throw new MlpError('conflict', `${cmd.pipeline} has no active rollout to ${cmd.command} (mlp status shows its last one)`);
    }
    throw new MlpError('unavailable', `${cmd.command} of a rollout is not available in this version of mlpd`);
  };

  const deploy: CommandHandler = async (cmd, session) => {
    if (cmd.version) throw new MlpError('unavailable', 'deploy --version (rolling out an existing version) is not available in this version of mlpd');
    const { run } = deps.store.runs.enqueue({ pipeline: cmd.pipeline, trigger: 'manual', reason: `mlp deploy by '${session.token}'` });
    deps.publishRun(run);
    deps.queue.pump();
    const ahead = deps.store.runs.active(cmd.pipeline).filter((r) => r.id !== run.id).length;
    return {
      runId: run.id,
      message: `${cmd.pipeline}: run ${run.id} queued${ahead ? ` behind ${ahead} run${ahead === 1 ? '' : 's'} of this pipeline` : ''} (mlp tail ${cmd.pipeline} -f follows it)`,
    };
  };

  return { deploy, promote: needsActiveRollout, rollback: needsActiveRollout, pause: needsActiveRollout, resume: needsActiveRollout };
}
