/**
 * The demo's world, in a temporary folder: the team's git remote, a developer's clone where releases
 * are committed and pushed (a merged pull request), the clone the daemon serves with `--pull`, its
 * data dir, and the processes (mlpd, the traffic generator). The bundled examples are only copied.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { cpSync, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Release } from './releases.js';

const run = promisify(execFile);
export const ROOT = join(import.meta.dirname, '..', '..');
const BIN = { mlp: join(ROOT, 'dist/bin/mlp.js'), mlpd: join(ROOT, 'dist/bin/mlpd.js') };

export interface Daemon {
  apiUrl: string;
  serveUrl: string;
  /** The environment `mlp` needs to reach this daemon. */
  clientEnv: Record<string, string>;
}

export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'mlp-demo-'));
  readonly team = join(this.dir, 'team');
  readonly server = join(this.dir, 'server');
  readonly dataDir = join(this.dir, 'data');
  readonly daemonLog = join(this.dir, 'mlpd.log');
  readonly trafficLog = join(this.dir, 'traffic.log');
  private children: ChildProcess[] = [];

  /** The team's repo: the bundled example, committed and pushed to a bare remote, then cloned for the daemon. */
  async createRepo(): Promise<void> {
    const origin = join(this.dir, 'origin.git');
    await git(this.dir, 'init', '-q', '--bare', '-b', 'main', origin);
    cpSync(join(ROOT, 'examples/repo'), this.team, { recursive: true });
    await git(this.team, 'init', '-q', '-b', 'main');
    await git(this.team, 'add', '-A');
    await git(this.team, 'commit', '-q', '-m', "the team's pipelines");
    await git(this.team, 'remote', 'add', 'origin', origin);
    await git(this.team, 'push', '-q', '-u', 'origin', 'main');
    await git(this.dir, 'clone', '-q', origin, this.server);
  }

  /** Commits a release in the developer's clone and pushes it: what merging its pull request does. */
  async merge(release: Release): Promise<string> {
    for (const [path, source] of Object.entries(release.files)) {
      writeFileSync(join(this.team, path), 'text' in source ? source.text : readFileSync(source.from));
    }
    await git(this.team, 'commit', '-q', '-a', '-m', release.commitMessage);
    await git(this.team, 'push', '-q', 'origin', 'main');
    return (await git(this.team, 'rev-parse', '--short', 'HEAD')).trim();
  }

  /** `mlpd start` on the daemon's clone, on free ports; resolves once it prints its ready line. */
  async startDaemon(timeScale: number): Promise<Daemon> {
    const args = [
      'start',
      '--repo',
      this.server,
      '--data-dir',
      this.dataDir,
      '--port',
      '0',
      '--serve-port',
      '0',
      '--pull',
      '1s',
      '--time-scale',
      String(timeScale),
    ];
    const child = this.spawn(process.execPath, [BIN.mlpd, ...args], this.daemonLog);
    const ready = await new Promise<RegExpExecArray>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /^mlpd ready (ws:\/\/\S+) serving (http:\/\/\S+)$/m.exec(out);
        if (m) resolve(m);
      });
      child.once('exit', (code) => reject(new Error(`mlpd exited with code ${code} before it was ready; its log: ${this.daemonLog}`)));
    });
    const [, apiUrl, serveUrl] = ready as unknown as [string, string, string];
    return { apiUrl, serveUrl, clientEnv: { MLP_URL: apiUrl, MLP_DATA_DIR: this.dataDir } };
  }

  /** The traffic generator of examples/, as a user would run it. */
  startTraffic(serveUrl: string, rate: number): void {
    this.spawn(process.execPath, [join(ROOT, 'examples/traffic.mjs'), '--router', serveUrl, '--rate', String(rate)], this.trafficLog);
  }

  /** `mlp ARGS` against the daemon; rejects with its stderr when it exits non-zero. */
  async mlp(daemon: Daemon, ...args: string[]): Promise<string> {
    try {
      const { stdout } = await run(process.execPath, [BIN.mlp, ...args], {
        env: { ...process.env, ...daemon.clientEnv },
        maxBuffer: 64 * 1024 * 1024,
      });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; code?: number };
      throw new Error(`mlp ${args.join(' ')} exited with code ${e.code}: ${e.stderr?.trim() ?? String(err)}`, { cause: err });
    }
  }

  /** Stops every process it started (the daemon stops its model servers), then removes the folder unless kept. */
  async close(keep: boolean): Promise<void> {
    await Promise.all(
      this.children.reverse().map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      ),
    );
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }

  private spawn(command: string, args: string[], logFile: string): ChildProcess {
    // Its own process group: a Ctrl-C or a closed terminal reaches the demo alone, which stops its
    // children in order (mlpd stops its model servers on SIGTERM).
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env, detached: true });
    const log = createWriteStream(logFile);
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    child.once('exit', () => log.end());
    this.children.push(child);
    return child;
  }
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const identity = ['-c', 'user.name=Demo Data Scientist', '-c', 'user.email=ds@example.com', '-c', 'commit.gpgsign=false'];
  const { stdout } = await run('git', [...identity, ...args], { cwd });
  return stdout;
}
