/** Runs the built `mlp` / `mlpd` binaries as a user would, capturing output and exit code. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = { mlp: join(ROOT, 'dist/bin/mlp.js'), mlpd: join(ROOT, 'dist/bin/mlpd.js') };

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The marks of `npm test` (scripts/leftovers.mjs): kept, so what a test starts can be traced after the run. */
const TEST_RUN_MARKS = new Set(['MLP_TEST_RUN', 'MLP_TEST_FILE']);

/** Environment without the caller's MLP_* settings, so tests never reach a developer's own daemon. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MLP_') || TEST_RUN_MARKS.has(k)) env[k] = v;
  return { ...env, NO_COLOR: '1', ...extra };
}

export function runCli(
  program: keyof typeof BIN,
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN[program], ...args], {
      cwd: opts.cwd ?? ROOT,
      env: cleanEnv(opts.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${program} ${args.join(' ')} timed out\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, opts.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
