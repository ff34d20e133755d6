/**
 * What each operator command does. `deploy` queues a training run (its versions are rolled out
 * when it succeeds) or, with `--version vN` (or `versions`, one per group), rolls out existing
 * versions at once. Promote,
 * rollback, pause and resume go to the pipeline's active rollout.
 */
import { MlpError } from '../../shared/errors.js';
import { formatPercent } from '../../shared/percent.js';
import type { OperatorCommand } from '../../shared/protocol.js';
import type { CommandHandler } from '../commands.js';
import type { RolloutController } from '../rollout/controller.js';
import type { RunQueue } from '../runs/queue.js';
import type { Store } from '../store/db.js';
import type { Run } from '../store/runs.js';

export function createApiHandlers(deps: {
  store: Store;
  queue: RunQueue;
  rollouts: RolloutController;
  publishRun(run: Run): void;
}): Partial<Record<OperatorCommand, CommandHandler>> {
  const rolloutCommand =
    (command: 'promote' | 'rollback' | 'pause' | 'resume'): CommandHandler =>
    async (cmd, session) => {
      const r = await deps.rollouts.command(cmd.pipeline, command, session.token);
      return {
        rolloutId: r.id,
        phase: r.phase,
        candidateWeight: r.candidateWeight,
        message: `${cmd.pipeline}: rollout #${r.id} is ${r.phase} at ${formatPercent(r.candidateWeight)}`,
      };
    };

  const deploy: CommandHandler = async (cmd, session) => {
    if (cmd.versions) {
      const groups = Object.entries(cmd.versions).map(([group, v]) => ({ group, version: Number(v.slice(1)) }));
      if (groups.length === 0) throw new MlpError('bad_request', `${cmd.pipeline}: 'versions' names no group`);
      const missing = groups.filter((g) => !deps.store.modelVersions.get(cmd.pipeline, g.group, g.version));
      if (missing.length) {
        throw new MlpError(
          'not_found',
          `${cmd.pipeline} has no model version ${missing.map((g) => `v${g.version} of group '${g.group}'`).join(', ')}: was it trained against another data dir?`,
        );
      }
      const r = await deps.rollouts.start(cmd.pipeline, null, groups);
      const what = groups.map((g) => `${g.group} v${g.version}`).join(', ');
      return { rolloutId: r.id, message: `${cmd.pipeline}: rolling out ${what}, rollout #${r.id}` };
    }
    if (cmd.version) {
      const version = Number(cmd.version.slice(1));
      const groups = [...new Set(deps.store.modelVersions.list(cmd.pipeline).map((v) => v.group))];
      const present = groups.filter((g) => deps.store.modelVersions.get(cmd.pipeline, g, version));
      if (present.length === 0) throw new MlpError('not_found', `${cmd.pipeline} has no model version ${cmd.version} in any group`);
      const r = await deps.rollouts.start(
        cmd.pipeline,
        null,
        present.map((group) => ({ group, version })),
      );
      return { rolloutId: r.id, message: `${cmd.pipeline}: rolling out ${cmd.version} (${present.join(', ')}), rollout #${r.id}` };
    }
    const { run } = deps.store.runs.enqueue({ pipeline: cmd.pipeline, trigger: 'manual', reason: `mlp deploy by '${session.token}'` });
    deps.publishRun(run);
    deps.queue.pump();
    const ahead = deps.store.runs.active(cmd.pipeline).filter((r) => r.id !== run.id).length;
    return {
      runId: run.id,
      message: `${cmd.pipeline}: run ${run.id} queued${ahead ? ` behind ${ahead} run${ahead === 1 ? '' : 's'} of this pipeline` : ''}; what it trains is rolled out through the gates (mlp tail ${cmd.pipeline} -f follows it)`,
    };
  };

  return {
    deploy,
    promote: rolloutCommand('promote'),
    rollback: rolloutCommand('rollback'),
    pause: rolloutCommand('pause'),
    resume: rolloutCommand('resume'),
  };
}
