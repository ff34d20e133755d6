/**
 * The pipeline config contract (README.md, "Configuration reference"; docs/config-reference.md is generated from here): `pipeline.yaml` beside the model code and the repo's
 * `mlp.yaml`. This schema is the one source of truth for validation, the TypeScript types, the
 * defaults, the JSON Schema for editors and the generated docs/config-reference.md, so every
 * key carries its description here.
 */
import { z } from 'zod';
import { validateCron } from './cron.js';
import { boundedNumber, IDENTIFIER, nonEmptyString, patternString, percentage, slug, timeZone, unlessInvalid } from './fields.js';
import { keyOf, quoteValue } from './messages.js';
import { NotifyList } from './notify.js';

/** The one group of a pipeline that does not discover groups from data. */
export const DEFAULT_GROUP = 'default';

/** What `integration_tests: true` runs. */
export const DEFAULT_INTEGRATION_TEST_COMMAND = 'python3 -m pytest -q tests/integration';

/** The step whose MLP_MODEL_DIR output becomes a model version. */
export const TRAIN_STEP = 'train';

/** `<connection>.<table>`: the table may be schema-qualified (`warehouse.public.cities`). */
const GROUP_SOURCE = /^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)$/;

/** The connection (first segment) and table (the rest) of a `groups.source`. */
export function parseGroupSource(source: string): { connection: string; table: string } | undefined {
  const m = GROUP_SOURCE.exec(source);
  return m ? { connection: m[1]!, table: m[2]! } : undefined;
}

const SQL_PREFIX = 'sql:';

/** The query of a `data: "sql: SELECT ..."` data check, or undefined when `data` is a file. */
export function sqlQuery(data: string): string | undefined {
  return data.startsWith(SQL_PREFIX) ? data.slice(SQL_PREFIX.length).trim() : undefined;
}

/** The command integration tests run, or undefined when they are off. */
export function integrationTestCommand(value: boolean | string): string | undefined {
  if (value === true) return DEFAULT_INTEGRATION_TEST_COMMAND;
  return value === false ? undefined : value;
}

const cron = z.string().superRefine((expression, ctx) => {
  const reason = validateCron(expression);
  if (reason) ctx.addIssue({ code: 'custom', input: expression, message: `schedule '${expression}' is not valid cron: ${reason}` });
});

const Backend = z.enum(['local', 'docker', 'sagemaker']);
/** Where a pipeline's steps run or its models serve. */
export type Backend = z.output<typeof Backend>;

const Groups = z
  .strictObject({
    generate: z
      .boolean()
      .default(false)
      .describe('Discover the groups from the data: one group per distinct value of `key` in `source`. False: one group named `default`.'),
    source: z
      .string()
      .regex(GROUP_SOURCE, { error: (iss) => `groups.source must be '<connection>.<table>', got ${quoteValue(iss.input)}` })
      .optional()
      .meta({
        description:
          '`<connection>.<table>`: a connection declared under `warehouses` in mlp.yaml, then the table (may be schema-qualified: `warehouse.public.cities`). Required when `generate` is true.',
        examples: ['warehouse.cities'],
      }),
    key: patternString(IDENTIFIER, 'a column name (letters, digits and _)')
      .optional()
      .meta({ description: "Column of the source table that names a group. Default: the table's first column.", examples: ['name'] }),
    parallelism: boundedNumber({ min: 1, max: 64 }, { int: true }).default(2).describe('How many groups run a step at the same time.'),
  })
  .superRefine(
    (g, ctx) => {
      if (g.generate && g.source === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['source'],
          message: "missing required key 'source' (generate: true discovers the groups from '<connection>.<table>')",
        });
      }
    },
    unlessInvalid(['generate'], ['source']),
  )
  .describe('How the pipeline splits into groups (e.g. one model per city). Without it: one group named `default`.');

const INSTANCE_TYPE = /^ml\.[a-z0-9]+\.[a-z0-9-]+$/;
const instanceType = () => patternString(INSTANCE_TYPE, "a SageMaker instance type like 'ml.m5.xlarge'");

const Training = z
  .strictObject({
    backend: Backend.optional().describe(
      'Where every step of a run executes (not only `train`): `local` processes, `docker` containers or `sagemaker` jobs. Default: mlp.yaml `defaults.training.backend`, else `deployment.backend` (so one key moves both). `mlp run --local|--docker|--cloud` chooses for itself.',
    ),
    instance_type: instanceType()
      .default('ml.m5.xlarge')
      .describe(
        'Instance type of every step run on SageMaker (`--cloud`, `backend: sagemaker`), and what the cost estimate of every run prices it as (docs/costs.md).',
      ),
    timeout_hours: boundedNumber({ above: 0, max: 120 }, { explain: 'SageMaker stops training jobs after 5 days' })
      .default(4)
      .describe('Time limit of the `train` step, on every backend.'),
  })
  .describe('Where the steps of a run execute (every step, not only `train`), with what resources and limits.');

const Step = z.strictObject({
  name: slug().describe('Step name, used by `mlp run <step>`.'),
  command: nonEmptyString().describe(
    'Shell command, run in the pipeline folder with MLP_GROUP, MLP_RUN_ID, MLP_MODEL_DIR, MLP_INPUT_DIR and MLP_OUTPUT_DIR set.',
  ),
  timeout_minutes: boundedNumber({ above: 0 })
    .optional()
    .describe('Time limit of the step. Default: none, except `train`, which defaults to `training.timeout_hours`.'),
});

const Steps = z
  .array(Step)
  .min(1)
  .superRefine(
    (steps, ctx) => {
      const seen = new Set<string>();
      steps.forEach((step, i) => {
        if (seen.has(step.name))
          ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate step name '${step.name}' (step names must be unique)` });
        seen.add(step.name);
      });
      if (!seen.has(TRAIN_STEP)) {
        ctx.addIssue({
          code: 'custom',
          message: `steps must include a step named '${TRAIN_STEP}': what it writes to MLP_MODEL_DIR becomes the model version`,
        });
      }
    },
    unlessInvalid(['*', 'name']),
  )
  .default(() => [{ name: TRAIN_STEP, command: 'python3 train.py' }])
  .describe('The steps of a run, in order; each runs once per group. Must include `train`.');

const Serve = z
  .strictObject({
    mode: z
      .enum(['single-model', 'multi-model'])
      .default('single-model')
      .describe(
        '`single-model`: one model server per live version of each group (POST /invocations). `multi-model`: one model server per pipeline hosts every live version of every group, loaded and invoked through the SageMaker multi-model contract (docs/serving.md, "Multi-model serving").',
      ),
    command: nonEmptyString()
      .default('python3 serve.py')
      .describe('Starts the model server: listens on HOST:PORT (both set by mlpd), answers GET /ping and POST /invocations.'),
    startup_timeout_seconds: boundedNumber({ above: 0, max: 3600 })
      .default(60)
      .describe('How long a new model server may take to answer /ping before its deploy fails.'),
    timeout_seconds: boundedNumber({ above: 0, max: 3600 })
      .default(60)
      .describe('How long one invocation may take; the router answers 504 after it (SageMaker: 60 s).'),
    instance_type: instanceType()
      .default('ml.m5.large')
      .describe(
        'SageMaker hosting instance type: used by the `sagemaker` backend, and for cost estimates on every backend (docs/costs.md).',
      ),
  })
  .describe('The model server, the same contract as a SageMaker bring-your-own container.');

const DataCheck = z
  .strictObject({
    suite: nonEmptyString().describe('Great Expectations suite (JSON), relative to the pipeline folder.'),
    data: nonEmptyString().meta({
      description:
        'The data the suite validates: a CSV or JSON Lines file relative to the pipeline folder, or `sql: SELECT ...` run against a warehouse connection.',
      examples: ['data/latest.csv', 'sql: SELECT * FROM features'],
    }),
    connection: patternString(IDENTIFIER, 'a connection name from mlp.yaml warehouses')
      .optional()
      .describe('Warehouse connection for `sql:` data. Default: the connection of `groups.source`.'),
    engine: z
      .enum(['native', 'great_expectations'])
      .default('native')
      .describe('`native`: mlp evaluates the suite itself; `great_expectations`: the suite runs in the Great Expectations Python library.'),
  })
  .superRefine(
    (check, ctx) => {
      const query = sqlQuery(check.data);
      if (query === '')
        ctx.addIssue({ code: 'custom', path: ['data'], message: "data 'sql:' needs a query after it, e.g. 'sql: SELECT * FROM features'" });
      if (query === undefined && check.connection !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['connection'], message: "connection is only used with 'sql:' data; data here is a file" });
      }
    },
    unlessInvalid(['data'], ['connection']),
  );

const Rollout = z
  .strictObject({
    strategy: z
      .enum(['gradual', 'all_at_once'])
      .default('gradual')
      .describe('`gradual`: shift traffic step by step while watching the error rate; `all_at_once`: 100% as soon as the gates pass.'),
    initial_traffic: percentage(
      { min: 0, below: 100 },
      {
        messages: {
          tooBig:
            'initial_traffic must be below 100: a candidate that starts with all traffic skips the gradual shift; use strategy: all_at_once',
        },
      },
    )
      .default(0)
      .describe('Percent of traffic the candidate gets once the gates pass (at most two decimals).'),
    step_percent: percentage({ above: 0, max: 100 })
      .default(10)
      .describe('Percent of traffic added at each step; fractions such as 12.5 are fine (at most two decimals).'),
    step_interval_minutes: boundedNumber({ above: 0 }).default(30).describe('Minutes between steps.'),
  })
  .describe('How traffic moves to the candidate.');

const Rollback = z
  .strictObject({
    on_error_rate_above: boundedNumber({ above: 0, max: 1 }, { explain: 'a fraction of requests: 0.05 = 5%' })
      .default(0.05)
      .describe("Roll back as soon as the candidate's error rate is above this fraction."),
    min_requests: boundedNumber({ min: 1 }, { int: true }).default(50).describe('No verdict on fewer candidate requests than this.'),
    on_latency_p99_above_ms: boundedNumber({ above: 0 })
      .optional()
      .describe("Also roll back when the candidate's p99 latency is above this many milliseconds. Default: latency is not watched."),
  })
  .describe('When a shifting rollout rolls back on its own.');

const LatencyCheck = z
  .strictObject({
    quantile: boundedNumber({ above: 0, below: 1 }).describe('The latency quantile compared, e.g. 0.99.'),
    max_ratio: boundedNumber({ above: 0 })
      .optional()
      .describe("Fail when the candidate's quantile is above this multiple of the current model's."),
    max_ms: boundedNumber({ above: 0 }).optional().describe("Fail when the candidate's quantile is above this many milliseconds."),
  })
  .superRefine(
    (check, ctx) => {
      if (check.max_ratio === undefined && check.max_ms === undefined) {
        ctx.addIssue({ code: 'custom', message: "a latency check needs 'max_ratio' or 'max_ms'" });
      } else if (check.max_ratio !== undefined && check.max_ms !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['max_ms'], message: "a latency check takes 'max_ratio' or 'max_ms', not both" });
      }
    },
    unlessInvalid(['max_ratio'], ['max_ms']),
  );

const DistributionCheck = z.strictObject({
  path: patternString(/^\$/, "a JSONPath into the response starting with '$' (e.g. '$.demand')").meta({
    description: 'JSONPath of the response values compared.',
    examples: ['$.demand'],
  }),
  metric: z.enum(['psi', 'ks', 'wasserstein', 'jensen_shannon']).describe('How the two distributions are compared.'),
  max: boundedNumber({ above: 0 }).describe('Fail when the metric is above this.'),
});

const MaxAbsDiffCheck = z.strictObject({
  path: patternString(/^\$/, "a JSONPath into the response starting with '$' (e.g. '$.demand')").meta({
    description: 'JSONPath of the numeric response value compared, request by request.',
    examples: ['$.demand'],
  }),
  max: boundedNumber({ min: 0 }).describe(
    "Fail when the candidate's value differs from the current model's by more than this on any replayed request.",
  ),
});

const CHECK_KINDS = ['latency', 'distribution', 'max_abs_diff', 'python'] as const;

const ReplayCheck = z
  .strictObject({
    latency: LatencyCheck.optional().describe("Compare a latency quantile of the candidate with the current model's."),
    distribution: DistributionCheck.optional().describe("Compare the distribution of a response field with the current model's."),
    max_abs_diff: MaxAbsDiffCheck.optional().describe("Compare a numeric response field with the current model's, request by request."),
    python: patternString(/^[^:\s]+\.py:[A-Za-z_][A-Za-z0-9_]*$/, "'file.py:function'")
      .optional()
      .meta({
        description:
          'A Python function `file.py:function` (file relative to the pipeline folder) that judges the replay results; the gate fails when it does.',
        examples: ['checks/replay.py:no_negative_demand'],
      }),
  })
  .superRefine((check, ctx) => {
    const kinds = CHECK_KINDS.filter((k) => check[k] !== undefined);
    if (kinds.length === 0) ctx.addIssue({ code: 'custom', message: `a replay check needs one of ${CHECK_KINDS.join(', ')}` });
    if (kinds.length > 1) {
      ctx.addIssue({
        code: 'custom',
        path: [kinds[1]!],
        message: `a replay check has one kind, found ${kinds.join(' and ')}: make each its own list entry`,
      });
    }
  }, unlessInvalid())
  // Exactly one kind per entry, also for editors.
  .meta({ minProperties: 1, maxProperties: 1 });

const Replay = z
  .strictObject({
    requests: boundedNumber({ min: 1, max: 1_000_000 }, { int: true })
      .default(10_000)
      .describe('Replay at most this many captured requests ...'),
    window_days: boundedNumber({ min: 1, max: 365 }, { int: true }).default(30).describe('... from this many days back.'),
    concurrency: boundedNumber({ min: 1, max: 256 }, { int: true }).default(8).describe('Replayed requests in flight at once.'),
    checks: z
      .array(ReplayCheck)
      .default(() => [])
      .describe(
        'Checks beyond the built-in rule (a request that did not error on the current model must not error on the candidate); each entry is one of `latency`, `distribution`, `max_abs_diff`, `python`.',
      ),
  })
  .describe('The replay gate: recent captured live traffic sent to the silent candidate.');

const Capture = z
  .strictObject({
    sampling_percent: boundedNumber({ above: 0, max: 100 })
      .default(100)
      .describe('Percent of live requests captured (what replay draws from).'),
  })
  .describe('Request/response capture (SageMaker Data Capture format on every backend).');

const Deployment = z
  .strictObject({
    type: z
      .literal('endpoint')
      .default('endpoint')
      .describe('How the model is served; `endpoint` (a real-time endpoint) is the only type for now.'),
    backend: Backend.default('local').describe(
      'Where model servers run: `local` processes, `docker` containers or `sagemaker` endpoints. Default: mlp.yaml `defaults.deployment.backend`, else `local`.',
    ),
    integration_tests: z
      .union([z.boolean(), nonEmptyString()], {
        error: (iss) => `integration_tests must be true, false or a command, got ${quoteValue(iss.input)}`,
      })
      .default(false)
      .describe(
        `\`true\` runs \`${DEFAULT_INTEGRATION_TEST_COMMAND}\`, a string runs that command, against the silent candidate. Default: off.`,
      )
      .meta({ examples: [true, 'python3 -m pytest -q tests/integration -k smoke'] }),
    data_checks: z
      .array(DataCheck)
      .default(() => [])
      .describe('Great Expectations suites and the data they validate; any failure blocks the deploy.'),
    rollout: Rollout.prefault({}),
    rollback: Rollback.prefault({}),
    replay: Replay.prefault({}),
    capture: Capture.prefault({}),
  })
  .describe('How a new model version goes live.');

export const PipelineSchema = z
  .strictObject({
    name: slug().meta({ description: 'Unique in the repo; names the endpoint, so at most 63 characters.', examples: ['demand-forecast'] }),
    schedule: cron.optional().meta({
      description:
        'When to run (train, then roll out): 5-field cron (minute hour day-of-month month day-of-week) or @yearly, @monthly, @weekly, @daily, @hourly. Default: only on demand.',
      examples: ['0 2 * * 1', '@daily'],
    }),
    timezone: timeZone()
      .optional()
      .meta({
        description: "IANA time zone of `schedule`. Default: mlp.yaml `defaults.timezone`, else the daemon's local time zone.",
        examples: ['Europe/Berlin', 'UTC'],
      }),
    orchestrator: z
      .enum(['mlpd', 'airflow'])
      .default('mlpd')
      .describe(
        'Who runs the schedule and the steps. `airflow`: the DAG of `mlp export airflow` does (docs/airflow.md); mlpd then neither schedules the pipeline nor runs it on a merged change, and still rolls out what the DAG trains and serves it.',
      ),
    groups: Groups.prefault({}),
    training: Training.prefault({}),
    steps: Steps,
    image: nonEmptyString()
      .optional()
      .describe("Container image for `--docker` and `--cloud`. Default: built from the pipeline folder's Dockerfile.")
      .meta({ examples: ['demand-forecast:latest'] }),
    serve: Serve.prefault({}),
    deployment: Deployment.prefault({}),
    notify: NotifyList(false),
  })
  .superRefine(
    (p, ctx) => {
      if (p.serve.mode === 'multi-model' && p.deployment.backend === 'sagemaker') {
        ctx.addIssue({
          code: 'custom',
          path: ['serve', 'mode'],
          message:
            "serve.mode 'multi-model' is not built for deployment.backend 'sagemaker' yet (a SageMaker multi-model endpoint is the next step, docs/serving.md): use serve.mode 'single-model' there, or the local or docker backend",
        });
      }
      // A `sql:` data check needs a connection; without its own, it borrows the groups' one.
      p.deployment.data_checks.forEach((check, i) => {
        if (sqlQuery(check.data) !== undefined && check.connection === undefined && p.groups.source === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['deployment', 'data_checks', i, 'data'],
            message: "'sql:' data needs a warehouse connection: set connection on this check or groups.source",
          });
        }
      });
    },
    unlessInvalid(
      ['deployment', 'data_checks', '*', 'data'],
      ['deployment', 'data_checks', '*', 'connection'],
      ['groups', 'source'],
      ['serve', 'mode'],
      ['deployment', 'backend'],
    ),
  );

/** A whole `pipeline.yaml`. */
export const PipelineFileSchema = z.strictObject({ pipeline: PipelineSchema.describe('One pipeline: its folder holds the model code.') });

const Warehouse = z.string().regex(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, {
  error: (iss) =>
    `warehouse '${keyOf(iss.path)}' must be 'sqlite:<file>' or a URL like 'postgres://user@host:5432/db', got ${quoteValue(iss.input)}`,
});

const AWS_REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d+$/;

/** USD per hour by instance type. */
const priceList = (what: string) =>
  z
    .record(z.string().regex(INSTANCE_TYPE), boundedNumber({ min: 0 }), {
      error: (iss) => (iss.code === 'invalid_key' ? `instance type ${quoteValue(iss.input)} must look like 'ml.m5.xlarge'` : undefined),
    })
    .optional()
    .meta({
      description: `USD per hour of one instance for ${what}, by instance type; listed types replace the built-in prices, the rest stay.`,
      examples: [{ 'ml.m5.xlarge': 0.23 }],
    });

const Prices = z
  .strictObject({
    as_of: nonEmptyString()
      .optional()
      .meta({
        description: "When these prices were copied, shown with every estimate. Default: the built-in table's date.",
        examples: ['2026-11-01'],
      }),
    region: patternString(AWS_REGION, "an AWS region like 'eu-west-1'")
      .optional()
      .meta({ description: "The region the prices are for. Default: the built-in table's (`us-east-1`).", examples: ['eu-west-1'] }),
    training: priceList('training'),
    hosting: priceList('real-time hosting'),
  })
  .describe(
    "Prices for the cost estimates in `mlp status` and the TUI, over the built-in table of SageMaker on-demand list prices (docs/costs.md): your region's, or what you actually pay.",
  );

/** Runs on SageMaker at once when mlp.yaml does not say. */
export const DEFAULT_MAX_PARALLEL_CLOUD = 10;
/** Steps run by the daemon yield the CPU to it and to the model servers (runs.nice). */
export const DEFAULT_RUNS_NICE = 10;
/** Model servers yield the CPU to the daemon until they answer /ping (serving.starting_nice). */
export const DEFAULT_STARTING_NICE = 10;

/** The repo's `mlp.yaml`, shared by every pipeline under it. */
export const RepoConfigSchema = z.strictObject({
  warehouses: z
    .record(z.string().regex(IDENTIFIER), Warehouse, {
      error: (iss) =>
        iss.code === 'invalid_key'
          ? `connection name ${quoteValue(iss.input)} must be letters, digits and _, not starting with a digit`
          : undefined,
    })
    .default(() => ({}))
    .meta({
      description:
        'Warehouse connections by name: `sqlite:<file>` (relative to the repo root) or a `postgres://` URL. `groups.source` and `sql:` data checks refer to these names.',
      examples: [{ warehouse: 'sqlite:warehouse.db' }],
    }),
  aws: z
    .strictObject({
      region: patternString(AWS_REGION, "an AWS region like 'eu-west-1'")
        .optional()
        .meta({ description: 'AWS region. Default: the standard AWS configuration (AWS_REGION, profile).', examples: ['eu-west-1'] }),
      role_arn: patternString(
        /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/,
        "an IAM role ARN like 'arn:aws:iam::123456789012:role/mlp-sagemaker'",
      ).meta({ examples: ['arn:aws:iam::123456789012:role/mlp-sagemaker'] }),
      bucket: patternString(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name').meta({
        description: 'Artifacts, inputs and Data Capture go under s3://BUCKET/mlp/.',
        examples: ['team-mlp-artifacts'],
      }),
    })
    .optional()
    .describe('AWS for `--cloud` and the `sagemaker` backend. Credentials and AWS_ENDPOINT_URL come from the standard AWS configuration.'),
  defaults: z
    .strictObject({
      timezone: timeZone().optional().describe('`timezone` of every pipeline that sets none.'),
      training: z
        .strictObject({
          backend: Backend.optional().describe(
            '`training.backend` of every pipeline that sets none (before falling back to its `deployment.backend`).',
          ),
        })
        .optional()
        .describe('Training defaults.'),
      deployment: z
        .strictObject({
          backend: Backend.optional().describe('`deployment.backend` of every pipeline that sets none.'),
        })
        .optional()
        .describe('Deployment defaults.'),
    })
    .optional()
    .describe('Values for pipelines that do not set them themselves.'),
  prices: Prices.optional(),
  notify: NotifyList(true),
  runs: z
    .strictObject({
      max_parallel: boundedNumber({ min: 1, max: 1024 }, { int: true })
        .optional()
        .meta({
          description:
            'Runs at the same time whose steps run on this machine (`local` and `docker` backends). Default: the number of cores, at least 2.',
          examples: [4],
        }),
      nice: boundedNumber({ min: 0, max: 19 }, { int: true })
        .default(DEFAULT_RUNS_NICE)
        .describe(
          "The CPU priority (`nice`) of runs' steps `mlpd` runs on this machine: training and ingestion are batch work, and on a machine they keep busy the daemon and the model servers answering traffic come first. A rollout's integration tests run at the daemon's priority (the rollout waits on them, with a deadline). 0 runs steps at the daemon's own priority; on an idle machine it makes no difference.",
        ),
      max_parallel_cloud: boundedNumber({ min: 1, max: 10_000 }, { int: true })
        .default(DEFAULT_MAX_PARALLEL_CLOUD)
        .describe(
          "Runs at the same time whose steps run on SageMaker (the `sagemaker` backend): they wait on AWS, not on this machine's cores, so they have a limit of their own; set it to what the account's SageMaker quotas allow.",
        ),
    })
    .optional()
    .describe('How many runs `mlpd` starts at once; queued runs start round robin by pipeline (docs/fleet.md).'),
  serving: z
    .strictObject({
      starting_at_once: boundedNumber({ min: 1, max: 1024 }, { int: true })
        .optional()
        .meta({
          description:
            'Model servers starting at the same time (after a restart of mlpd, for new candidates, after a crash); each takes traffic as soon as it answers /ping. Default: 4 per core of the machine.',
          examples: [8],
        }),
      starting_nice: boundedNumber({ min: 0, max: 19 }, { int: true })
        .default(DEFAULT_STARTING_NICE)
        .describe(
          "The CPU priority (`nice`) of a model server of the `local` backend until it answers /ping; from then on it runs at the daemon's priority. Starting a server (imports, loading the model) is batch work: on a busy machine the daemon's API and the router serving live traffic come first. 0 starts servers at the daemon's priority. Takes effect where Linux schedules by session (autogroups, the default of most distributions), the only place a priority can be given back without privileges.",
        ),
      max_servers: boundedNumber({ min: 1, max: 100_000 }, { int: true })
        .optional()
        .meta({
          description:
            'The server budget: at most this many model servers run at once (draining ones count until they stop). A rollout whose candidate would go over it waits for room (`budget_wait_minutes`), then blocks; servers already live are never stopped for it. Default: no limit.',
          examples: [1200],
        }),
      budget_wait_minutes: boundedNumber({ above: 0, max: 7 * 24 * 60 })
        .default(30)
        .describe('How long a rollout waits for room in the server budget before it blocks.'),
    })
    .optional()
    .describe('The model servers mlpd runs itself (the `local` and `docker` backends): docs/fleet.md.'),
});

/** A validated pipeline.yaml, every default filled in. */
export type PipelineConfig = z.output<typeof PipelineFileSchema>;
/** The `pipeline:` mapping of a validated pipeline.yaml. */
export type PipelineSpec = PipelineConfig['pipeline'];
/** What a data scientist may write in pipeline.yaml: defaults optional. */
export type PipelineInput = z.input<typeof PipelineFileSchema>;
/** A validated mlp.yaml, every default filled in. */
export type RepoConfig = z.output<typeof RepoConfigSchema>;
/** The defaults a repo sets for its pipelines. */
export type RepoDefaults = NonNullable<RepoConfig['defaults']>;
export type Step = PipelineSpec['steps'][number];
export type DataCheck = PipelineSpec['deployment']['data_checks'][number];
export type ReplayCheck = PipelineSpec['deployment']['replay']['checks'][number];
