import type Database from 'better-sqlite3';
import { conflict, notFound } from '../../shared/errors.js';
import { isForeignKeyViolation, isUniqueViolation } from './sqlite-errors.js';

export type VariantRole = 'current' | 'candidate';
/** Where the variant serves: mlpd's own model servers (`local`, `docker`) or a SageMaker endpoint. */
export type VariantBackend = 'local' | 'docker' | 'sagemaker';
export type VariantState = 'starting' | 'live' | 'failed' | 'stopped';

/** A model server the daemon runs (desired 'live') or ran (desired 'retired'). */
export interface Variant {
  id: number;
  pipeline: string;
  group: string;
  version: number;
  role: VariantRole;
  weight: number;
  backend: VariantBackend;
  desired: 'live' | 'retired';
  state: VariantState;
  port: number | null;
  /** The backend's handle on the running server (local: `pid:N`, docker: `container:ID`, sagemaker: `endpoint:NAME`). */
  handle: string | null;
  restarts: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface CreateVariantInput {
  pipeline: string;
  group: string;
  version: number;
  role: VariantRole;
  weight: number;
  backend: VariantBackend;
  at?: number;
}

export interface VariantRow {
  id: number;
  pipeline: string;
  group_name: string;
  version: number;
  role: VariantRole;
  weight: number;
  backend: VariantBackend;
  desired: 'live' | 'retired';
  state: VariantState;
  port: number | null;
  handle: string | null;
  restarts: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export const toVariant = (r: VariantRow): Variant => ({
  id: r.id,
  pipeline: r.pipeline,
  group: r.group_name,
  version: r.version,
  role: r.role,
  weight: r.weight,
  backend: r.backend,
  desired: r.desired,
  state: r.state,
  port: r.port,
  handle: r.handle,
  restarts: r.restarts,
  lastError: r.last_error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** What a variant's server is doing, as its supervisor last saw it. */
export interface VariantObservation {
  state: VariantState;
  port: number | null;
  handle: string | null;
  restarts: number;
  lastError: string | null;
  at?: number;
}

export class VariantsRepository {
  private readonly insert: Database.Statement<
    Omit<VariantRow, 'id' | 'port' | 'handle' | 'restarts' | 'last_error' | 'desired' | 'state'>,
    VariantRow
  >;
  private readonly selectOne: Database.Statement<[number], VariantRow>;
  private readonly selectLive: Database.Statement<[], VariantRow>;
  private readonly selectLiveOf: Database.Statement<[string], VariantRow>;
  private readonly updateObserved: Database.Statement<{
    id: number;
    state: VariantState;
    port: number | null;
    handle: string | null;
    restarts: number;
    last_error: string | null;
    updated_at: number;
  }>;
  private readonly updateWeight: Database.Statement<{ id: number; weight: number; updated_at: number }>;
  private readonly updateRole: Database.Statement<{ id: number; role: VariantRole; updated_at: number }>;
  private readonly retireRow: Database.Statement<{ id: number; updated_at: number }>;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    this.insert = db.prepare(`
      INSERT INTO variants (pipeline, group_name, version, role, weight, backend, desired, state, created_at, updated_at)
      VALUES (:pipeline, :group_name, :version, :role, :weight, :backend, 'live', 'starting', :created_at, :updated_at)
      RETURNING *`);
    this.selectOne = db.prepare('SELECT * FROM variants WHERE id = ?');
    this.selectLive = db.prepare("SELECT * FROM variants WHERE desired = 'live' ORDER BY id");
    this.selectLiveOf = db.prepare("SELECT * FROM variants WHERE desired = 'live' AND pipeline = ? ORDER BY group_name, id");
    this.updateObserved = db.prepare(
      'UPDATE variants SET state = :state, port = :port, handle = :handle, restarts = :restarts, last_error = :last_error, updated_at = :updated_at WHERE id = :id',
    );
    this.updateWeight = db.prepare('UPDATE variants SET weight = :weight, updated_at = :updated_at WHERE id = :id');
    this.updateRole = db.prepare('UPDATE variants SET role = :role, updated_at = :updated_at WHERE id = :id');
    this.retireRow = db.prepare("UPDATE variants SET desired = 'retired', weight = 0, updated_at = :updated_at WHERE id = :id");
  }

  /** Declares a new variant that should be live (it starts in state 'starting'). */
  create(input: CreateVariantInput): Variant {
    const at = input.at ?? this.now();
    try {
      return toVariant(
        this.insert.get({
          pipeline: input.pipeline,
          group_name: input.group,
          version: input.version,
          role: input.role,
          weight: input.weight,
          backend: input.backend,
          created_at: at,
          updated_at: at,
        })!,
      );
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw conflict(`${input.pipeline}/${input.group} already has a live ${input.role} variant or serves v${input.version}`);
      }
      if (isForeignKeyViolation(err)) throw notFound(`${input.pipeline}/${input.group} has no model version v${input.version}`);
      throw err;
    }
  }

  get(id: number): Variant | undefined {
    const row = this.selectOne.get(id);
    return row && toVariant(row);
  }

  /** Every variant that should be live, of one pipeline or of all. */
  live(pipeline?: string): Variant[] {
    return (pipeline === undefined ? this.selectLive.all() : this.selectLiveOf.all(pipeline)).map(toVariant);
  }

  /** Records what the variant's server is doing now. */
  observe(id: number, o: VariantObservation): void {
    this.updateObserved.run({
      id,
      state: o.state,
      port: o.port,
      handle: o.handle,
      restarts: o.restarts,
      last_error: o.lastError,
      updated_at: o.at ?? this.now(),
    });
  }

  setWeight(id: number, weight: number, at?: number): void {
    this.updateWeight.run({ id, weight, updated_at: at ?? this.now() });
  }

  setRole(id: number, role: VariantRole, at?: number): void {
    this.updateRole.run({ id, role, updated_at: at ?? this.now() });
  }

  /** The variant should no longer serve (its server is stopped by the daemon). */
  retire(id: number, at?: number): void {
    this.retireRow.run({ id, updated_at: at ?? this.now() });
  }
}
