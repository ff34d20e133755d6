/** What the TUI asks of the daemon: the contract between the view and the live connection (tests fake it). */
import type { OperatorCommand } from '../shared/protocol.js';

export type TuiCommand = Extract<OperatorCommand, 'promote' | 'rollback' | 'pause' | 'resume'>;

export interface FleetActions {
  /** Resolves with the daemon's answer as one line; rejects with its error. */
  command(command: TuiCommand, pipeline: string): Promise<string>;
  /** Start following a pipeline's logs (stored lines, then live ones, into the fleet store). */
  followLogs(pipeline: string): void;
  unfollowLogs(pipeline: string): void;
  /** Keep a pipeline's full view in the fleet store (`details`) while it is open. */
  watch(pipeline: string): void;
  unwatch(pipeline: string): void;
}
