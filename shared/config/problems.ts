/**
 * A config problem is a message pinned to the YAML node at fault, so editors and terminals can
 * jump to it. Every validator in mlp reports problems in this one shape.
 */
import { isAbsolute, relative } from 'node:path';

export interface ConfigProblem {
  /** The file as the loader was given it (absolute when it comes from repo discovery). */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  col: number;
  message: string;
}

/** `FILE:LINE:COL: message`; with `baseDir`, an absolute file is shown relative to it. */
export function formatProblem(p: ConfigProblem, baseDir?: string): string {
  const file = baseDir !== undefined && isAbsolute(p.file) ? relative(baseDir, p.file) || p.file : p.file;
  return `${file}:${p.line}:${p.col}: ${p.message}`;
}

/** Compares by file, then position, then message, so output is stable across runs. */
export function compareProblems(a: ConfigProblem, b: ConfigProblem): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.line !== b.line) return a.line - b.line;
  if (a.col !== b.col) return a.col - b.col;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}

/** A sorted copy. */
export function sortProblems(problems: readonly ConfigProblem[]): ConfigProblem[] {
  return [...problems].sort(compareProblems);
}
