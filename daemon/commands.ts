/**
 * Operator commands (promote, rollback, pause, resume, deploy): the role check, the audit trail
 * and the dispatch. Every attempt is audited with the token's name, including refused ones, so
 * "who paused this?" and "who tried to?" both have answers.
 */
import { MlpError, describeError } from '../shared/errors.js';
import type { CommandMessage, OperatorCommand } from '../shared/protocol.js';
import type { Session } from './api/server.js';
import type { Logger } from './log.js';
import type { StorageHealth } from './storage-health.js';
import type { Store } from './store/db.js';

export type CommandHandler = (command: CommandMessage, session: Session) => Promise<unknown>;

export function createCommandService(opts: {
  store: Store;
  /** An audit record storage refused (disk full) waits here: the command's answer does not depend on it. */
  storage: StorageHealth;
  log: Logger;
  pipelineExists: (name: string) => boolean;
  knownPipelines: () => string[];
  handlers: Partial<Record<OperatorCommand, CommandHandler>>;
  now?: () => number;
}) {
  const now = opts.now ?? Date.now;
  let audited = 0;

  function audit(cmd: CommandMessage, session: Session, outcome: 'accepted' | 'rejected' | 'failed', message: string) {
    const at = now();
    opts.storage.write(`audit ${++audited}`, () =>
      opts.store.audit.record({
        at,
        actor: session.token,
        role: session.role,
        command: cmd.command,
        target: cmd.pipeline,
        args: cmd.version ? { version: cmd.version } : {},
        outcome,
        message,
      }),
    );
  }

  return {
    async execute(cmd: CommandMessage, session: Session): Promise<unknown> {
      const refuse = (err: MlpError): never => {
        audit(cmd, session, 'rejected', err.message);
        throw err;
      };
      if (session.role !== 'operator') {
        refuse(
          new MlpError(
            'forbidden',
            `token '${session.token}' has the viewer role and may not ${cmd.command}: use an operator token (mlpd token create --role operator)`,
          ),
        );
      }
      if (!opts.pipelineExists(cmd.pipeline)) {
        const known = opts.knownPipelines();
        refuse(
          new MlpError(
            'not_found',
            `no pipeline named '${cmd.pipeline}'` + (known.length ? ` (known: ${known.join(', ')})` : ' (the repo has no valid pipelines)'),
          ),
        );
      }
      const handler = opts.handlers[cmd.command];
      if (!handler) refuse(new MlpError('unavailable', `'${cmd.command}' is not available in this version of mlpd`));
      try {
        const result = await handler!(cmd, session);
        audit(cmd, session, 'accepted', `${cmd.command} ${cmd.pipeline}`);
        opts.log.info('command', `${cmd.command} by '${session.token}'`, cmd.pipeline);
        return result;
      } catch (err) {
        const userError = err instanceof MlpError && err.code !== 'internal' && err.code !== 'unavailable';
        audit(cmd, session, userError ? 'rejected' : 'failed', describeError(err));
        throw err;
      }
    },
  };
}
