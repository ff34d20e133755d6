/** Domain vocabulary shared by the daemon, the API and clients (README.md "Commands", docs/rollouts.md "Phases", docs/api.md). */

/** Rollout phases, in the order a rollout that goes well passes through the first six. */
export const ROLLOUT_PHASES = [
  'deploying',
  'checking_data',
  'integration_testing',
  'replaying',
  'shifting',
  'paused',
  'promoted',
  'blocked',
  'rolling_back',
  'rolled_back',
  'failed',
] as const;
export type RolloutPhase = (typeof ROLLOUT_PHASES)[number];

export const TERMINAL_PHASES = ['promoted', 'blocked', 'rolled_back', 'failed'] as const satisfies readonly RolloutPhase[];
export type TerminalPhase = (typeof TERMINAL_PHASES)[number];
/** A phase a rollout can be paused in (and resumed to). */
export type PausablePhase = Exclude<RolloutPhase, TerminalPhase | 'paused'>;

const TERMINAL: ReadonlySet<RolloutPhase> = new Set(TERMINAL_PHASES);
export const isTerminalPhase = (phase: RolloutPhase): phase is TerminalPhase => TERMINAL.has(phase);

/** API token roles: viewers read; operators may also deploy, promote, roll back, pause and resume. */
export const ROLES = ['viewer', 'operator'] as const;
export type Role = (typeof ROLES)[number];
