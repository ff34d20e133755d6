import type Database from 'better-sqlite3';
import { notFound } from '../../shared/errors.js';
import { fromJson } from './json.js';

/** A problem of an invalid pipeline.yaml, where `mlp validate` would print it (`FILE:LINE:COL: message`). */
export interface PipelineProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** A discovered pipeline: its last valid config, and the problems of the file on disk if an edit broke it. */
export interface Pipeline {
  name: string;
  dir: string;
  file: string;
  /** The last valid config, as it was given to `upsertValid`. */
  config: unknown;
  hash: string;
  /** When the config in force was loaded; unchanged by a reload of the same hash. */
  loadedAt: number;
  /** Problems of the latest edit; null while the file on disk is valid. */
  problems: PipelineProblem[] | null;
  problemsAt: number | null;
  removedAt: number | null;
}

export interface UpsertValidInput {
  name: string;
  dir: string;
  file: string;
  config: unknown;
  /** What identifies this config (and anything else whose change should count), e.g. a sha256. */
  hash: string;
  at?: number;
}

export interface UpsertValidResult {
  pipeline: Pipeline;
  /** True when the pipeline is new, comes back after removal, or its hash differs from the stored one. */
  changed: boolean;
}

interface PipelineRow {
  name: string;
  dir: string;
  file: string;
  config_json: string;
  config_hash: string;
  loaded_at: number;
  problems_json: string | null;
  problems_at: number | null;
  removed_at: number | null;
}

const toPipeline = (r: PipelineRow): Pipeline => ({
  name: r.name,
  dir: r.dir,
  file: r.file,
  config: JSON.parse(r.config_json) as unknown,
  hash: r.config_hash,
  loadedAt: r.loaded_at,
  problems: fromJson<PipelineProblem[]>(r.problems_json),
  problemsAt: r.problems_at,
  removedAt: r.removed_at,
});

type UpsertParams = { name: string; dir: string; file: string; config: string; hash: string; at: number };

export class PipelinesRepository {
  private readonly selectOne: Database.Statement<[string], PipelineRow>;
  private readonly selectPresent: Database.Statement<[], PipelineRow>;
  private readonly selectAll: Database.Statement<[], PipelineRow>;
  private readonly upsert: Database.Statement<UpsertParams, PipelineRow>;
  private readonly setProblems: Database.Statement<{ name: string; problems: string; at: number }, PipelineRow>;
  private readonly setRemoved: Database.Statement<{ name: string; at: number }>;
  private readonly upsertTx: (input: UpsertValidInput) => UpsertValidResult;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    this.selectOne = db.prepare('SELECT * FROM pipelines WHERE name = ?');
    this.selectPresent = db.prepare('SELECT * FROM pipelines WHERE removed_at IS NULL ORDER BY name');
    this.selectAll = db.prepare('SELECT * FROM pipelines ORDER BY name');
    // In DO UPDATE, bare column names are the stored row: loaded_at moves only for a new hash or a return.
    this.upsert = db.prepare(`
      INSERT INTO pipelines (name, dir, file, config_json, config_hash, loaded_at)
      VALUES (:name, :dir, :file, :config, :hash, :at)
      ON CONFLICT (name) DO UPDATE SET
        dir = excluded.dir,
        file = excluded.file,
        config_json = excluded.config_json,
        config_hash = excluded.config_hash,
        loaded_at = CASE WHEN config_hash = excluded.config_hash AND removed_at IS NULL THEN loaded_at ELSE excluded.loaded_at END,
        problems_json = NULL,
        problems_at = NULL,
        removed_at = NULL
      RETURNING *`);
    this.setProblems = db.prepare(`
      UPDATE pipelines SET problems_json = :problems, problems_at = :at, removed_at = NULL WHERE name = :name RETURNING *`);
    this.setRemoved = db.prepare('UPDATE pipelines SET removed_at = coalesce(removed_at, :at) WHERE name = :name');

    this.upsertTx = db.transaction((input: UpsertValidInput): UpsertValidResult => {
      const before = this.selectOne.get(input.name);
      const row = this.upsert.get({
        name: input.name,
        dir: input.dir,
        file: input.file,
        config: JSON.stringify(input.config),
        hash: input.hash,
        at: input.at ?? this.now(),
      })!;
      const changed = before === undefined || before.removed_at !== null || before.config_hash !== input.hash;
      return { pipeline: toPipeline(row), changed };
    });
  }

  /** Records a valid config; clears problems and removal. */
  upsertValid(input: UpsertValidInput): UpsertValidResult {
    return this.upsertTx(input);
  }

  /**
   * Records the problems of an invalid edit; the last valid config stays (and stays in force). A
   * pipeline that was never valid has no row: its problems belong to whoever reports repo problems.
   */
  markInvalid(name: string, problems: readonly PipelineProblem[], at?: number): Pipeline {
    const row = this.setProblems.get({ name, problems: JSON.stringify(problems), at: at ?? this.now() });
    if (!row) throw notFound(`pipeline ${name} has no valid version on record`);
    return toPipeline(row);
  }

  /** Marks a pipeline whose file is gone; its history stays. Removing twice keeps the first time. */
  markRemoved(name: string, at?: number): void {
    if (this.setRemoved.run({ name, at: at ?? this.now() }).changes === 0) throw notFound(`pipeline ${name} is not registered`);
  }

  /** Pipelines by name; removed ones only when asked. */
  list(options: { includeRemoved?: boolean } = {}): Pipeline[] {
    return (options.includeRemoved ? this.selectAll : this.selectPresent).all().map(toPipeline);
  }

  /** The pipeline by name, removed or not. */
  get(name: string): Pipeline | undefined {
    const row = this.selectOne.get(name);
    return row && toPipeline(row);
  }
}
