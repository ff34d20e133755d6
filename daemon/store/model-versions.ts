import type Database from 'better-sqlite3';
import { notFound } from '../../shared/errors.js';
import { fromJson, toJson } from './json.js';
import { isForeignKeyViolation } from './sqlite-errors.js';

/** Version N of the model of one (pipeline, group); shown as `vN`. */
export interface ModelVersion {
  pipeline: string;
  group: string;
  version: number;
  runId: string | null;
  gitCommit: string | null;
  artifactUri: string;
  metrics: Record<string, unknown> | null;
  createdAt: number;
}

export interface CreateModelVersionInput {
  pipeline: string;
  /** Always a name: a pipeline without groups uses one fixed group name (NULLs would defeat the uniqueness). */
  group: string;
  runId?: string | null;
  gitCommit?: string | null;
  /** Where the artifact is, or how to name it once the version number is known. */
  artifactUri: string | ((version: number) => string);
  metrics?: Record<string, unknown> | null;
  at?: number;
}

interface ModelVersionRow {
  pipeline: string;
  group_name: string;
  version: number;
  run_id: string | null;
  git_commit: string | null;
  artifact_uri: string;
  metrics_json: string | null;
  created_at: number;
}

const toModelVersion = (r: ModelVersionRow): ModelVersion => ({
  pipeline: r.pipeline,
  group: r.group_name,
  version: r.version,
  runId: r.run_id,
  gitCommit: r.git_commit,
  artifactUri: r.artifact_uri,
  metrics: fromJson<Record<string, unknown>>(r.metrics_json),
  createdAt: r.created_at,
});

export class ModelVersionsRepository {
  private readonly selectNext: Database.Statement<[string, string], { next: number }>;
  private readonly insert: Database.Statement<ModelVersionRow, ModelVersionRow>;
  private readonly selectOne: Database.Statement<[string, string, number], ModelVersionRow>;
  private readonly selectLatest: Database.Statement<[string, string], ModelVersionRow>;
  private readonly selectByGroup: Database.Statement<[string, string], ModelVersionRow>;
  private readonly selectByPipeline: Database.Statement<[string], ModelVersionRow>;
  private readonly createTx: (input: CreateModelVersionInput) => ModelVersion;

  constructor(
    db: Database.Database,
    private readonly now: () => number,
  ) {
    this.selectNext = db.prepare('SELECT coalesce(max(version), 0) + 1 AS next FROM model_versions WHERE pipeline = ? AND group_name = ?');
    this.insert = db.prepare(`
      INSERT INTO model_versions (pipeline, group_name, version, run_id, git_commit, artifact_uri, metrics_json, created_at)
      VALUES (:pipeline, :group_name, :version, :run_id, :git_commit, :artifact_uri, :metrics_json, :created_at)
      RETURNING *`);
    this.selectOne = db.prepare('SELECT * FROM model_versions WHERE pipeline = ? AND group_name = ? AND version = ?');
    this.selectLatest = db.prepare('SELECT * FROM model_versions WHERE pipeline = ? AND group_name = ? ORDER BY version DESC LIMIT 1');
    this.selectByGroup = db.prepare('SELECT * FROM model_versions WHERE pipeline = ? AND group_name = ? ORDER BY version');
    this.selectByPipeline = db.prepare('SELECT * FROM model_versions WHERE pipeline = ? ORDER BY group_name, version');

    this.createTx = db.transaction((input: CreateModelVersionInput) => {
      const version = this.nextVersion(input.pipeline, input.group);
      const uri = typeof input.artifactUri === 'function' ? input.artifactUri(version) : input.artifactUri;
      try {
        return toModelVersion(
          this.insert.get({
            pipeline: input.pipeline,
            group_name: input.group,
            version,
            run_id: input.runId ?? null,
            git_commit: input.gitCommit ?? null,
            artifact_uri: uri,
            metrics_json: toJson(input.metrics),
            created_at: input.at ?? this.now(),
          })!,
        );
      } catch (err) {
        if (isForeignKeyViolation(err)) throw notFound(`run ${input.runId} does not exist`);
        throw err;
      }
    });
  }

  /** The number the next version of (pipeline, group) would get. */
  nextVersion(pipeline: string, group: string): number {
    return this.selectNext.get(pipeline, group)!.next;
  }

  /** Records a new version numbered one past the latest, atomically. */
  create(input: CreateModelVersionInput): ModelVersion {
    return this.createTx(input);
  }

  get(pipeline: string, group: string, version: number): ModelVersion | undefined {
    const row = this.selectOne.get(pipeline, group, version);
    return row && toModelVersion(row);
  }

  latest(pipeline: string, group: string): ModelVersion | undefined {
    const row = this.selectLatest.get(pipeline, group);
    return row && toModelVersion(row);
  }

  /** Versions oldest first: of one group, or of every group of the pipeline (by group, then version). */
  list(pipeline: string, group?: string): ModelVersion[] {
    return (group === undefined ? this.selectByPipeline.all(pipeline) : this.selectByGroup.all(pipeline, group)).map(toModelVersion);
  }
}
