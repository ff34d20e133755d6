/**
 * A real `mlpd start` and `mlp` as the benchmarks that measure through them run them (built `dist/`): what
 * users meet, not the components alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
export const BIN = { mlp: join(ROOT, 'dist/bin/mlp.js'), mlpd: join(ROOT, 'dist/bin/mlpd.js') };

/** The WebSocket and serving URLs from mlpd's ready line; rejects, with its log, if it exits or takes longer than `timeoutMs`. */
export function mlpdReady(daemon: ChildProcess, log: () => string, timeoutMs: number): Promise<[string, string]> {
  let stdout = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mlpd did not print its ready line in time:\n${log()}`)), timeoutMs);
    daemon.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = /^mlpd ready (ws:\/\/\S+) serving (http:\/\/\S+)$/m.exec(stdout);
      if (m) {
        clearTimeout(timer);
        resolve([m[1]!, m[2]!]);
      }
    });
    daemon.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mlpd exited with ${code} before it was ready:\n${log()}`));
    });
  });
}

/** One `mlp` command, to its end. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN.mlp, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** This environment without MLP_* settings (never a developer's own daemon), plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MLP_')) env[k] = v;
  return { ...env, NO_COLOR: '1', ...extra };
}
