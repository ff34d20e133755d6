/**
 * A serving platform's refusal to start a candidate for want of room (the `serving.max_servers` budget
 * of mlpd's own model servers): the rollout waits for room instead of failing (rollout/machine.ts).
 */
import { MlpError } from '../../shared/errors.js';

const DETAIL = 'serverBudget';

export interface ServerBudgetUse {
  /** Model servers that run (or start, or drain) now. */
  servers: number;
  max: number;
}

export function overServerBudget(message: string, use: ServerBudgetUse): MlpError {
  return new MlpError('unavailable', message, { details: { [DETAIL]: use } });
}

/** What the refusal said of the budget; undefined for any other error. */
export function serverBudgetOf(err: unknown): ServerBudgetUse | undefined {
  const use = err instanceof MlpError ? err.details?.[DETAIL] : undefined;
  return use && typeof use === 'object' ? (use as ServerBudgetUse) : undefined;
}
