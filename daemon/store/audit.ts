import type Database from 'better-sqlite3';
import { fromJson, toJson } from './json.js';
import type { TokenRole } from './tokens.js';

export const AUDIT_OUTCOMES = ['accepted', 'rejected', 'failed'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** A command someone issued through the API, and what became of it. */
export interface AuditEntry {
  id: number;
  at: number;
  /** The token's name. */
  actor: string;
  role: TokenRole;
  command: string;
  /** The pipeline it was aimed at, if any. */
  target: string | null;
  args: unknown;
  outcome: AuditOutcome;
  message: string | null;
}

export interface AuditInput {
  actor: string;
  role: TokenRole;
  command: string;
  target?: string | null;
  args?: unknown;
  outcome: AuditOutcome;
  message?: string | null;
  at?: number;
}

interface AuditRow {
  id: number;
  at: number;
  actor: string;
  role: TokenRole;
  command: string;
  target: string | null;
  args_json: string | null;
  outcome: AuditOutcome;
  message: string | null;
}

const toEntry = (r: AuditRow): AuditEntry => ({
  id: r.id,
  at: r.at,
  actor: r.actor,
  role: r.role,
  command: r.command,
  target: r.target,
  args: fromJson(r.args_json),
  outcome: r.outcome,
  message: r.message,
});

export class AuditRepository {
  private readonly insert: Database.Statement<Omit<AuditRow, 'id'>, AuditRow>;
  private readonly selectLast: Database.Statement<[number], AuditRow>;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    this.insert = db.prepare(`
      INSERT INTO audit (at, actor, role, command, target, args_json, outcome, message)
      VALUES (:at, :actor, :role, :command, :target, :args_json, :outcome, :message)
      RETURNING *`);
    this.selectLast = db.prepare('SELECT * FROM (SELECT * FROM audit ORDER BY id DESC LIMIT ?) ORDER BY id');
  }

  record(input: AuditInput): AuditEntry {
    return toEntry(
      this.insert.get({
        at: input.at ?? this.now(),
        actor: input.actor,
        role: input.role,
        command: input.command,
        target: input.target ?? null,
        args_json: toJson(input.args),
        outcome: input.outcome,
        message: input.message ?? null,
      })!,
    );
  }

  /** The last `limit` entries, newest last (like decisions and logs). */
  list(options: { limit: number }): AuditEntry[] {
    return this.selectLast.all(options.limit).map(toEntry);
  }
}
