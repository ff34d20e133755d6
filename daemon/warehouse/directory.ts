/**
 * The groups of every pipeline in force, discovered from the warehouse and cached: status and
 * the API read the cache; it is refreshed when a pipeline's config changes and periodically, so
 * a city added to the warehouse table shows up without touching the config.
 */
import type { PipelineConfig, RepoConfig } from '../../shared/config/schema.js';
import { describeError, MlpError } from '../../shared/errors.js';
import { pipelineGroups, type GroupReads } from './groups.js';

export interface GroupInfo {
  groups: string[];
  /** Why discovery failed (the previous groups are kept), else null. */
  error: string | null;
  /** Values of the groups source that cannot be groups, one line each (warehouse/groups.ts). */
  refused: string[];
}

/**
 * The groups a run trains, from what discovery found just before it. A run goes on with the groups
 * discovery kept after a failure; with none, it fails saying why: the warehouse could not be read
 * (unavailable) or none of its values can be a group (check_failed).
 */
export function groupsToRun(info: GroupInfo): string[] {
  if (info.groups.length === 0 && info.error) throw new MlpError('unavailable', `cannot discover groups: ${info.error}`);
  if (info.groups.length === 0 && info.refused.length) throw new MlpError('check_failed', `no group to run: ${info.refused.join('; ')}`);
  return info.groups;
}

export interface GroupDirectory {
  get(pipeline: string): GroupInfo;
  /** Rediscovers the groups of these pipelines; returns the names whose groups or error changed. */
  refresh(pipelines: { name: string; config: PipelineConfig }[], repo: RepoConfig | null, root: string): Promise<string[]>;
  forget(pipeline: string): void;
}

/** `onRefused` hears of refused values when they change, so a daemon logs them once, not at every refresh. */
export function createGroupDirectory(opts: { onRefused?(pipeline: string, refused: string[]): void } = {}): GroupDirectory {
  const cache = new Map<string, GroupInfo>();

  async function discover(
    config: PipelineConfig,
    repo: RepoConfig | null,
    root: string,
    reads: GroupReads,
    previous?: GroupInfo,
  ): Promise<GroupInfo> {
    try {
      return { ...(await pipelineGroups(config, repo?.warehouses ?? {}, root, reads)), error: null };
    } catch (err) {
      return { groups: previous?.groups ?? [], error: describeError(err), refused: previous?.refused ?? [] };
    }
  }

  return {
    get: (name) => cache.get(name) ?? { groups: [], error: null, refused: [] },
    async refresh(pipelines, repo, root) {
      const changed: string[] = [];
      const reads: GroupReads = new Map(); // this pass's: the next one reads the warehouse afresh
      for (const p of pipelines) {
        const before = cache.get(p.name);
        const after = await discover(p.config, repo, root, reads, before);
        cache.set(p.name, after);
        if (JSON.stringify(before) !== JSON.stringify(after)) changed.push(p.name);
        if (after.refused.length && JSON.stringify(before?.refused) !== JSON.stringify(after.refused))
          opts.onRefused?.(p.name, after.refused);
      }
      return changed;
    },
    forget: (name) => void cache.delete(name),
  };
}
