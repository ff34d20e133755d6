/**
 * `mlpd`: start the daemon, and manage its API tokens.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseCommandLine, parsePort } from '../../shared/args.js';
import { parseDuration } from '../../shared/duration.js';
import { describeError, exitCodeFor, MlpError, usageError } from '../../shared/errors.js';
import { keepRunningWhenReaderCloses } from '../../shared/output.js';
import { resolveDataDir } from '../../shared/paths.js';
import { serveTokenFrom } from '../../shared/serve-token.js';
import { ROLES, type Role } from '../../shared/protocol.js';
import { findRepoRoot } from '../../shared/repo/discover.js';
import { MLP_VERSION } from '../../shared/version.js';
import { startDaemon } from '../daemon.js';
import { DEFAULT_SERVE_WORKERS, MAX_DEFAULT_SERVE_WORKERS, MIN_CORES_FOR_WORKERS } from '../serving/router/workers.js';
import { createLogger, type LogLevel } from '../log.js';
import { openStore } from '../store/db.js';

const HELP = `mlpd — the mlp daemon

Usage:
  mlpd start [--repo DIR] [--data-dir DIR] [--host 127.0.0.1] [--port 7070]
             [--serve-port 8080] [--serve-workers N] [--pull 60s] [--time-scale N]
             [--log-level info]
  mlpd token create --role viewer|operator [--name NAME] [--data-dir DIR] [--json]
  mlpd token list [--data-dir DIR] [--json]
  mlpd token revoke NAME [--data-dir DIR]
  mlpd --version

Run 'mlpd <command> --help' for the options of a command.`;

const START_HELP = `mlpd start — discover pipelines, schedule and roll them out, serve the API and model traffic

Options:
  --repo DIR        the pipelines repo (default: the repo around the current folder: nearest mlp.yaml, else git root)
  --data-dir DIR    state, tokens, artifacts, capture (default: $MLP_DATA_DIR, else ~/.mlp)
  --host HOST       address to bind for the API and the router (default 127.0.0.1)
  --port PORT       WebSocket API port (default 7070; 0 = any free port)
  --serve-port PORT model-traffic router port (default 8080; 0 = any free port)
  --serve-workers N router processes sharing the serve port (default: one per core, at most ${MAX_DEFAULT_SERVE_WORKERS}, on
                    ${MIN_CORES_FOR_WORKERS} cores or more, else 1; here ${DEFAULT_SERVE_WORKERS}); 1 = the router runs inside mlpd
  --pull INTERVAL   fast-forward the repo clone from its upstream this often (e.g. 60s)
  --time-scale N    make every configured duration N times shorter (demos and tests)
  --log-level LEVEL debug | info | warn | error (default info)

Environment: MLP_SERVE_TOKEN, when set, is the bearer token every request to the router must carry
(at least 16 characters); unset, the router answers whoever can reach it.

Prints 'mlpd ready ws://HOST:PORT serving http://HOST:SERVE_PORT' once it accepts connections;
logs go to stderr. SIGTERM or SIGINT stops it cleanly, with everything it started. One mlpd per
data dir; on start it stops what a predecessor killed with -9 left running (docs/runs.md).`;

const TOKEN_HELP = `mlpd token — API tokens for mlp clients

  mlpd token create --role viewer|operator [--name NAME] [--json]   mint a token; prints its secret once
  mlpd token list [--json]                                          names, roles, dates (never secrets)
  mlpd token revoke NAME                                            the token stops working at once, on open connections too

All take --data-dir DIR (default: $MLP_DATA_DIR, else ~/.mlp). Viewers read; operators may also
deploy, promote, roll back, pause and resume. Clients read the secret from MLP_TOKEN.`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        console.log(HELP);
        return command === undefined ? 2 : 0;
      case '--version':
      case 'version':
        console.log(MLP_VERSION);
        return 0;
      case 'start':
        return await start(rest);
      case 'token':
        return token(rest);
      default:
        throw usageError(`mlpd: unknown command '${command}' (commands: start, token; see 'mlpd --help')`);
    }
  } catch (err) {
    process.stderr.write(`mlpd: ${describeError(err)}\n`);
    if (!(err instanceof MlpError) && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return exitCodeFor(err);
  }
}

async function start(args: string[]): Promise<number> {
  const { values } = parseCommandLine(
    'mlpd start',
    args,
    {
      repo: { type: 'string' },
      'data-dir': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'serve-port': { type: 'string' },
      'serve-workers': { type: 'string' },
      pull: { type: 'string' },
      'time-scale': { type: 'string' },
      'log-level': { type: 'string' },
    },
    false,
  );
  if (values.help) {
    console.log(START_HELP);
    return 0;
  }
  const repo = values.repo ? resolve(values.repo) : findRepoRoot(process.cwd());
  if (!existsSync(repo) || !statSync(repo).isDirectory()) throw usageError(`--repo: ${repo} is not a folder`);
  const timeScale = values['time-scale'] === undefined ? 1 : Number(values['time-scale']);
  if (!(timeScale > 0) || !Number.isFinite(timeScale)) throw usageError(`--time-scale: '${values['time-scale']}' must be a number above 0`);
  const level = (values['log-level'] ?? 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    throw usageError(`--log-level: '${level}' is not one of debug, info, warn, error`);

  const serveToken = serveTokenFrom(process.env);

  // Serving must not stop because whoever read the log went away.
  keepRunningWhenReaderCloses();
  const log = createLogger({ level });
  // Listening before the ready line: a SIGTERM sent the instant it appears must stop the daemon
  // cleanly (with its children), not kill it by the signal's default action. One that comes while
  // starting is acted on once the daemon has started; a second one exits at once.
  let early: string | undefined;
  let onSignal = (signal: string) => {
    if (early) process.exit(1);
    early = signal;
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  const daemon = await startDaemon({
    repo,
    dataDir: resolveDataDir(values['data-dir']),
    host: values.host ?? '127.0.0.1',
    port: parsePort(values.port, '--port', 7070),
    servePort: parsePort(values['serve-port'], '--serve-port', 8080),
    serveWorkers: parseServeWorkers(values['serve-workers']),
    ...(serveToken !== undefined ? { serveToken } : {}),
    ...(values.pull !== undefined ? { pullIntervalMs: parseDuration(values.pull, '--pull') } : {}),
    timeScale,
    log,
  });
  console.log(`mlpd ready ${daemon.apiUrl} serving ${daemon.serveUrl}`);

  return await new Promise<number>((resolveExit) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) {
        log.warn('daemon', `${signal} again: exiting without waiting`);
        process.exit(1);
      }
      stopping = true;
      log.info('daemon', `${signal}: shutting down`);
      daemon.stop().then(
        () => {
          log.info('daemon', 'stopped');
          resolveExit(0);
        },
        (err) => {
          log.error('daemon', `shutdown failed: ${describeError(err)}`);
          resolveExit(1);
        },
      );
    };
    onSignal = shutdown;
    if (early) shutdown(early);
  });
}

function token(args: string[]): number {
  const [sub, ...rest] = args;
  const { values, positionals } = parseCommandLine(`mlpd token ${sub ?? ''}`.trim(), rest, {
    role: { type: 'string' },
    name: { type: 'string' },
    'data-dir': { type: 'string' },
    json: { type: 'boolean' },
  });
  if (values.help || sub === undefined || sub === '--help' || sub === '-h') {
    console.log(TOKEN_HELP);
    return sub === undefined ? 2 : 0;
  }
  const store = openStore(resolveDataDir(values['data-dir']));
  try {
    switch (sub) {
      case 'create': {
        const role = values.role as Role | undefined;
        if (!role || !ROLES.includes(role)) throw usageError(`mlpd token create: --role must be viewer or operator`);
        const name =
          values.name ??
          nextName(
            role,
            store.tokens.list().map((t) => t.name),
          );
        const created = store.tokens.create(name, role);
        if (values.json) console.log(JSON.stringify(created));
        else {
          console.log(created.secret);
          process.stderr.write(`created ${role} token '${name}': give it to the client as MLP_TOKEN; it is not shown again\n`);
        }
        return 0;
      }
      case 'list': {
        const tokens = store.tokens.list();
        if (values.json) console.log(JSON.stringify({ tokens }));
        else {
          for (const t of tokens) {
            const state = t.revokedAt ? `revoked ${new Date(t.revokedAt).toISOString()}` : 'active';
            console.log(`${t.name.padEnd(24)} ${t.role.padEnd(9)} created ${new Date(t.createdAt).toISOString()}  ${state}`);
          }
        }
        return 0;
      }
      case 'revoke': {
        const name = positionals[0];
        if (!name) throw usageError('mlpd token revoke: name the token to revoke (mlpd token list shows them)');
        store.tokens.revoke(name);
        process.stderr.write(`revoked token '${name}': a running mlpd closes its open connections within a second\n`);
        return 0;
      }
      default:
        throw usageError(`mlpd token: unknown subcommand '${sub}' (create, list, revoke)`);
    }
  } finally {
    store.close();
  }
}

function nextName(role: Role, taken: string[]): string {
  for (let n = 1; ; n++) if (!taken.includes(`${role}-${n}`)) return `${role}-${n}`;
}

/** Router processes: 1..256 (each is a process with its own connections to every model server). */
function parseServeWorkers(text: string | undefined): number {
  if (text === undefined) return DEFAULT_SERVE_WORKERS;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 256)
    throw usageError(`--serve-workers: '${text}' is not a number of router processes (1-256; 1 = inside mlpd)`);
  return n;
}
