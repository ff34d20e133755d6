import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatProblem, sortProblems } from '../../../shared/config/problems.js';

describe('problems', () => {
  it('formats as FILE:LINE:COL: message, relative to a base folder when asked', () => {
    const p = { file: '/repo/a/pipeline.yaml', line: 3, col: 5, message: 'unknown key' };
    assert.equal(formatProblem(p), '/repo/a/pipeline.yaml:3:5: unknown key');
    assert.equal(formatProblem(p, '/repo'), 'a/pipeline.yaml:3:5: unknown key');
    assert.equal(formatProblem({ ...p, file: 'x.yaml' }, '/repo'), 'x.yaml:3:5: unknown key');
  });

  it('sorts by file, line, column', () => {
    const at = (file: string, line: number, col: number) => ({ file, line, col, message: 'm' });
    const sorted = sortProblems([at('b', 1, 1), at('a', 2, 1), at('a', 1, 9), at('a', 1, 2)]);
    assert.deepEqual(
      sorted.map((p) => `${p.file}:${p.line}:${p.col}`),
      ['a:1:2', 'a:1:9', 'a:2:1', 'b:1:1'],
    );
  });
});
