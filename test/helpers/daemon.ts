/**
 * A real `mlpd start` child process on free ports, with its own repo and data dir, for tests that
 * drive the daemon from outside the way users and other programs do.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, cleanEnv, ROOT } from './cli.js';

export interface TestDaemon {
  apiUrl: string;
  serveUrl: string;
  dataDir: string;
  repo: string;
  /** The operator token the daemon wrote on first start. */
  operatorToken: string;
  proc: ChildProcess;
  stderr(): string;
  /** Environment for `mlp` commands aimed at this daemon. */
  clientEnv(token?: string): Record<string, string>;
  /** Sends the signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves once stderr contains text matching `pattern`. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

export async function startTestDaemon(opts: {
  repo: string;
  dataDir?: string;
  args?: string[];
  timeoutMs?: number;
  /** Extra environment for mlpd (the caller's MLP_* variables never reach it). */
  env?: Record<string, string>;
}): Promise<TestDaemon> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'mlp-data-'));
  const proc = spawn(
    process.execPath,
    [BIN.mlpd, 'start', '--repo', opts.repo, '--data-dir', dataDir, '--port', '0', '--serve-port', '0', ...(opts.args ?? [])],
    { cwd: ROOT, env: cleanEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  const logWaiters = new Set<() => void>();
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of logWaiters) w();
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));

  const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`mlpd did not print its ready line in time\nstderr:\n${stderr}`)),
      opts.timeoutMs ?? 20_000,
    );
    proc.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /^mlpd ready (ws:\/\/\S+) serving (http:\/\/\S+)$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`mlpd exited with ${code} before it was ready\nstderr:\n${stderr}`));
    });
  });

  const operatorToken = readFileSync(join(dataDir, 'token'), 'utf8').trim();
  return {
    apiUrl: ready[1]!,
    serveUrl: ready[2]!,
    dataDir,
    repo: opts.repo,
    operatorToken,
    proc,
    stderr: () => stderr,
    clientEnv: (token = operatorToken) => ({ MLP_URL: ready[1]!, MLP_TOKEN: token }),
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      return exited;
    },
    waitForLog(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(stderr)) return;
          logWaiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          logWaiters.delete(check);
          reject(new Error(`mlpd never logged ${pattern}\nstderr:\n${stderr}`));
        }, timeoutMs);
        logWaiters.add(check);
        check();
      });
    },
  };
}

/** Polls `probe` until it returns a value (not undefined) or the time runs out. */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
