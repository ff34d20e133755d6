import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reconcile, type InForcePipeline, type RepoScan } from '../../daemon/repo/reconcile.js';
import type { PipelineConfig } from '../../shared/config/schema.js';

const config = (name: string) => ({ pipeline: { name } }) as unknown as PipelineConfig;
const scanned = (name: string, file: string, hash: string) => ({
  name,
  dir: file.replace('/pipeline.yaml', ''),
  file,
  config: config(name),
  hash,
});
const problem = (file: string, message = 'broken') => ({ file, line: 3, col: 5, message });

function inForce(...entries: [string, string, string][]): Map<string, InForcePipeline> {
  return new Map(entries.map(([name, file, hash]) => [name, { ...scanned(name, file, hash), loadedAt: 1, problems: [] }]));
}

describe('reconcile', () => {
  it('adds new pipelines and reports them as updated', () => {
    const scan: RepoScan = { pipelines: [scanned('a', '/r/a/pipeline.yaml', 'h1')], problems: [] };
    const r = reconcile(new Map(), scan, 10);
    assert.deepEqual(r.updated, ['a']);
    assert.equal(r.inForce.get('a')!.loadedAt, 10);
  });

  it('leaves unchanged pipelines alone, keeping their load time', () => {
    const prev = inForce(['a', '/r/a/pipeline.yaml', 'h1']);
    const r = reconcile(prev, { pipelines: [scanned('a', '/r/a/pipeline.yaml', 'h1')], problems: [] }, 10);
    assert.deepEqual(r.updated, []);
    assert.equal(r.inForce.get('a')!.loadedAt, 1);
  });

  it('keeps the previous version of a file whose edit is invalid, with the problems attached', () => {
    const prev = inForce(['a', '/r/a/pipeline.yaml', 'h1']);
    const r = reconcile(prev, { pipelines: [], problems: [problem('/r/a/pipeline.yaml')] }, 10);
    assert.deepEqual(r.updated, ['a']);
    assert.deepEqual(r.removed, []);
    assert.equal(r.inForce.get('a')!.hash, 'h1');
    assert.equal(r.inForce.get('a')!.problems[0]!.message, 'broken');
    assert.deepEqual(r.repoProblems, []);

    // Reporting the same problems again is not a change; mending the file is.
    assert.deepEqual(reconcile(r.inForce, { pipelines: [], problems: [problem('/r/a/pipeline.yaml')] }, 11).updated, []);
    const mended = reconcile(r.inForce, { pipelines: [scanned('a', '/r/a/pipeline.yaml', 'h1')], problems: [] }, 12);
    assert.deepEqual(mended.updated, ['a']);
    assert.deepEqual(mended.inForce.get('a')!.problems, []);
  });

  it('reports problems of a file that never loaded at repo level', () => {
    const r = reconcile(new Map(), { pipelines: [], problems: [problem('/r/b/pipeline.yaml')] }, 10);
    assert.equal(r.inForce.size, 0);
    assert.equal(r.repoProblems.length, 1);
  });

  it('removes pipelines whose file is gone, and retires the old name when a file renames its pipeline', () => {
    const prev = inForce(['a', '/r/a/pipeline.yaml', 'h1'], ['b', '/r/b/pipeline.yaml', 'h2']);
    const r = reconcile(prev, { pipelines: [scanned('a2', '/r/a/pipeline.yaml', 'h3')], problems: [] }, 10);
    assert.deepEqual(r.updated, ['a2']);
    assert.deepEqual(r.removed.sort(), ['a', 'b']);
  });

  it('does not resurrect an old version under a name another file now owns', () => {
    const prev = inForce(['a', '/r/a/pipeline.yaml', 'h1']);
    const scan: RepoScan = { pipelines: [scanned('a', '/r/moved/pipeline.yaml', 'h9')], problems: [problem('/r/a/pipeline.yaml')] };
    const r = reconcile(prev, scan, 10);
    assert.equal(r.inForce.get('a')!.file, '/r/moved/pipeline.yaml');
    assert.equal(r.repoProblems.length, 1);
  });
});
