/**
 * The groups of every pipeline in force, discovered from the warehouse and cached: status and
 * the API read the cache; it is refreshed when a pipeline's config changes and periodically, so
 * a city added to the warehouse table shows up without touching the config.
 */
import type { PipelineConfig, RepoConfig } from '../../shared/config/schema.js';
import { describeError } from '../../shared/errors.js';
import { pipelineGroups } from './groups.js';

export interface GroupInfo {
  groups: string[];
  /** Why discovery failed (the previous groups are kept), else null. */
  error: string | null;
  /** Values of the groups source that cannot be groups, one line each (warehouse/groups.ts). */
  refused: string[];
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

  async function discover(config: PipelineConfig, repo: RepoConfig | null, root: string, previous?: GroupInfo): Promise<GroupInfo> {
    try {
      return { ...(await pipelineGroups(config, repo?.warehouses ?? {}, root)), error: null };
    } catch (err) {
      return { groups: previous?.groups ?? [], error: describeError(err), refused: previous?.refused ?? [] };
    }
  }

  return {
    get: (name) => cache.get(name) ?? { groups: [], error: null, refused: [] },
    async refresh(pipelines, repo, root) {
      const changed: string[] = [];
      for (const p of pipelines) {
        const before = cache.get(p.name);
        const after = await discover(p.config, repo, root, before);
        cache.set(p.name, after);
        if (JSON.stringify(before) !== JSON.stringify(after)) changed.push(p.name);
        if (after.refused.length && JSON.stringify(before?.refused) !== JSON.stringify(after.refused)) opts.onRefused?.(p.name, after.refused);
      }
      return changed;
    },
    forget: (name) => void cache.delete(name),
  };
}
