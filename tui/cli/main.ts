/**
 * `mlp`: the non-interactive commands. The command table is data, so `mlp --help` and the README's
 * command list come from one place.
 */
import { parseCommandLine, type CommandSpec } from '../../shared/args.js';
import { parseDuration } from '../../shared/duration.js';
import { closest } from '../../shared/config/suggest.js';
import { describeError, exitCodeFor, MlpError, usageError } from '../../shared/errors.js';
import type { OperatorCommand } from '../../shared/protocol.js';
import { MLP_VERSION } from '../../shared/version.js';
import { invoke } from '../commands/invoke.js';
import { operate } from '../commands/operate.js';
import { schema } from '../commands/schema.js';
import { status } from '../commands/status.js';
import { tail } from '../commands/tail.js';
import { validate } from '../commands/validate.js';

const jsonFlag = { json: { type: 'boolean' } } as const;

function operatorCommand(command: OperatorCommand, summary: string): CommandSpec {
  const isDeploy = command === 'deploy';
  const usage = `mlp ${command} <pipeline>${isDeploy ? ' [--version vN | --version GROUP=vN ...] [--wait]' : ''} [--json]`;
  return {
    usage,
    summary,
    run(args) {
      const { values, positionals } = parseCommandLine(`mlp ${command}`, args, {
        ...jsonFlag,
        ...(isDeploy ? { version: { type: 'string', multiple: true }, wait: { type: 'boolean' } } : {}),
      } as const);
      if (values.help) return help(usage, isDeploy ? `${summary}.\n${DEPLOY_HELP}` : summary);
      const pipeline = onePipeline(`mlp ${command}`, positionals, usage);
      const { version, wait } = values as { version?: string[]; wait?: boolean };
      return operate(command, pipeline, { json: values.json === true, ...deployTarget(version ?? [], wait === true, usage) });
    },
  };
}

const DEPLOY_HELP = `--version vN rolls out version N in every group that has it; --version GROUP=vN (repeatable)
rolls out those versions, one per group (e.g. what an Airflow DAG run trained); other groups keep theirs.
--wait follows the rollout to its end, printing each phase and gate decision, and exits 1 unless it
is promoted (blocked, rolled back or failed); it needs --version.`;

/** `--version` values and `--wait` as the deploy command sends them. */
function deployTarget(
  values: string[],
  wait: boolean,
  usage: string,
): { version?: string; versions?: Record<string, string>; wait?: boolean } {
  const perGroup = values.filter((v) => v.includes('='));
  if (wait && values.length === 0)
    throw usageError(`mlp deploy: --wait follows the rollout of existing versions: pass --version (usage: ${usage})`);
  if (perGroup.length === 0) {
    if (values.length > 1) throw usageError(`mlp deploy: one --version vN, or --version GROUP=vN per group (usage: ${usage})`);
    return { ...(values[0] ? { version: values[0] } : {}), ...(wait ? { wait } : {}) };
  }
  if (perGroup.length !== values.length) throw usageError(`mlp deploy: --version vN and --version GROUP=vN do not mix (usage: ${usage})`);
  const versions: Record<string, string> = {};
  for (const value of values) {
    const at = value.lastIndexOf('=');
    const [group, version] = [value.slice(0, at), value.slice(at + 1)];
    if (group === '' || !/^v[1-9][0-9]*$/.test(version))
      throw usageError(`mlp deploy: --version '${value}' is not GROUP=vN (e.g. london=v3)`);
    if (group in versions) throw usageError(`mlp deploy: --version names group '${group}' twice`);
    versions[group] = version;
  }
  return { versions, ...(wait ? { wait } : {}) };
}

export const COMMANDS: Record<string, CommandSpec> = {
  status: {
    usage: 'mlp status [<pipeline>] [--json]',
    summary:
      'pipelines in force, their groups, current versions and rollouts (asks mlpd); one pipeline also says where it trains and serves, and its notifications',
    run(args) {
      const { values, positionals } = parseCommandLine('mlp status', args, jsonFlag);
      if (values.help) return help(this.usage, this.summary);
      if (positionals.length > 1) throw usageError(`mlp status: name at most one pipeline (usage: ${this.usage})`);
      const pipeline = positionals.length ? onePipeline('mlp status', positionals, this.usage) : undefined;
      return status({ json: values.json === true, ...(pipeline !== undefined ? { pipeline } : {}) });
    },
  },
  validate: {
    usage: 'mlp validate [PATH ...] [--json]',
    summary: 'check pipeline.yaml files or folders (default: the current repo); no daemon needed',
    run(args) {
      const { values, positionals } = parseCommandLine('mlp validate', args, jsonFlag);
      if (values.help)
        return help(this.usage, `${this.summary}.\nPrints each problem as FILE:LINE:COL: message and exits 1 when there is one.`);
      return validate(positionals, { json: values.json === true });
    },
  },
  schema: {
    usage: 'mlp schema [pipeline|mlp]',
    summary: "print the JSON Schema of pipeline.yaml (or of the repo's mlp.yaml) for editors",
    run(args) {
      const { values, positionals } = parseCommandLine('mlp schema', args, {});
      if (values.help) return help(this.usage, this.summary);
      return schema(positionals[0] ?? 'pipeline');
    },
  },
  tail: {
    usage: 'mlp tail <pipeline> [-f] [--since 10m] [--json]',
    summary: "a pipeline's step output and daemon messages; -f follows new lines",
    run(args) {
      const { values, positionals } = parseCommandLine('mlp tail', args, {
        follow: { type: 'boolean', short: 'f' },
        since: { type: 'string' },
        ...jsonFlag,
      });
      if (values.help)
        return help(
          this.usage,
          `${this.summary}.\nWithout --since it shows the last 200 lines. Plain lines when piped, colour on a terminal (NO_COLOR turns it off).`,
        );
      return tail(onePipeline('mlp tail', positionals, this.usage), {
        follow: values.follow === true,
        json: values.json === true,
        ...(values.since !== undefined ? { sinceMs: parseDuration(values.since, '--since') } : {}),
      });
    },
  },
  invoke: {
    usage: 'mlp invoke <pipeline> [--group G] (--data JSON | --data @FILE) [--variant vN] [--json]',
    summary: 'send one request through the router (or the SageMaker endpoint) and print the answer and the variant that gave it',
    run(args) {
      const { values, positionals } = parseCommandLine('mlp invoke', args, {
        group: { type: 'string' },
        data: { type: 'string' },
        'content-type': { type: 'string' },
        variant: { type: 'string' },
        ...jsonFlag,
      });
      if (values.help) {
        return help(
          this.usage,
          `${this.summary}.\nThe request goes through mlpd's router like live traffic (split by weight, captured, counted); for a pipeline whose deployment.backend is sagemaker, mlpd names its endpoint and the request is SageMaker's InvokeEndpoint (standard AWS credentials and endpoint settings, region from mlp.yaml aws.region else AWS_REGION).\n--data @FILE reads a file (@- standard input); JSON bodies are sent as application/json unless --content-type says otherwise.\n--variant pins a version (X-Mlp-Target-Variant; TargetVariant on SageMaker). The router's address comes from mlpd (or MLP_SERVE_URL, which skips asking mlpd); MLP_SERVE_TOKEN is sent as the bearer token a router started with one requires. Exit 0 on a 2xx answer, 3 when the router or AWS refuses the credentials or cannot be reached, else 1.`,
        );
      }
      const pipeline = onePipeline('mlp invoke', positionals, this.usage);
      if (values.data === undefined) throw usageError(`mlp invoke: --data is required (usage: ${this.usage})`);
      return invoke(pipeline, {
        data: values.data,
        json: values.json === true,
        ...(values.group ? { group: values.group } : {}),
        ...(values['content-type'] ? { contentType: values['content-type'] } : {}),
        ...(values.variant ? { variant: values.variant } : {}),
      });
    },
  },
  deploy: operatorCommand(
    'deploy',
    'run the pipeline now (train), then roll out what it produced; --version rolls out existing versions, --wait follows the rollout',
  ),
  promote: operatorCommand('promote', "finish the pipeline's rollout now: the candidate takes all traffic"),
  rollback: operatorCommand('rollback', "roll the pipeline's candidate back to 0% and retire it"),
  pause: operatorCommand('pause', "hold the pipeline's rollout where it is"),
  resume: operatorCommand('resume', 'continue a paused rollout'),
};

/** The one pipeline a command acts on; none, several or an empty name is a usage error. */
function onePipeline(command: string, positionals: string[], usage: string): string {
  if (positionals.length !== 1) throw usageError(`${command}: name one pipeline (usage: ${usage})`);
  const name = positionals[0]!;
  if (name.trim() === '') throw usageError(`${command}: the pipeline name is empty ('mlp status' lists the pipelines)`);
  return name;
}

function help(usage: string, summary: string): number {
  console.log(`${usage}\n\n${summary}`);
  return 0;
}

export function usageText(commands: Record<string, CommandSpec> = COMMANDS): string {
  const width = Math.max(...Object.values(commands).map((c) => c.usage.length));
  return [
    'mlp — self-service ML deployment',
    '',
    'Run `mlp` with no command on a terminal for the TUI (live pipelines, rollouts, logs; ? for its keys).',
    '',
    'Commands:',
    ...Object.values(commands).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    'Commands that talk to mlpd find it through MLP_URL (default ws://127.0.0.1:7070) and MLP_TOKEN',
    '(default: the token file in MLP_DATA_DIR, else ~/.mlp). Exit codes: 0 ok, 1 the thing checked is wrong,',
    '2 usage error, 3 cannot reach or authenticate to mlpd.',
  ].join('\n');
}

/**
 * Runs `mlp`. Commands that need the daemon's machinery on this machine (`mlp run`) live in
 * daemon/ and are handed in by bin/mlp.ts, so the client never imports daemon code.
 */
export async function main(argv: string[], extra: Record<string, CommandSpec> = {}): Promise<number> {
  const [name, ...rest] = argv;
  const commands = { ...COMMANDS, ...extra };
  try {
    if (name === undefined && process.stdout.isTTY && process.stdin.isTTY) {
      // Ink draws nothing but the last frame when CI or CONTINUOUS_INTEGRATION is set (it reads them
      // once, at import). A person at a terminal would see a blank screen until they quit, so the
      // interactive TUI ignores them. Imported on demand so other commands do not load Ink and React.
      delete process.env.CI;
      delete process.env.CONTINUOUS_INTEGRATION;
      return await (await import('../run.js')).runTui();
    }
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      console.log(usageText(commands));
      return 0;
    }
    if (name === '--version' || name === 'version') {
      console.log(MLP_VERSION);
      return 0;
    }
    const command = commands[name];
    if (!command) {
      const guess = closest(name, Object.keys(commands));
      throw usageError(`mlp: unknown command '${name}'${guess ? ` (did you mean '${guess}'?)` : ''}; see 'mlp --help'`);
    }
    return await command.run(rest);
  } catch (err) {
    process.stderr.write(`mlp: ${describeError(err)}\n`);
    if (!(err instanceof MlpError) && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
    return exitCodeFor(err);
  }
}
