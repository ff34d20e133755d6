import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parsePipelineConfig, parseRepoConfig } from '../../../shared/config/load.js';
import { formatProblem } from '../../../shared/config/problems.js';

const fixtures = join(import.meta.dirname, '../../fixtures/config');
const fixture = (name: string) => readFileSync(join(fixtures, name), 'utf8');

/** What `mlp validate` would print for this pipeline.yaml text. */
function validate(text: string, file = 'pipeline.yaml'): string[] {
  const { config, problems } = parsePipelineConfig(text, file);
  assert.equal(config === undefined, problems.length > 0, 'a config comes back exactly when there is no problem');
  return problems.map((p) => formatProblem(p));
}

/** A valid pipeline with `lines` inserted under `pipeline:` after its name. */
const pipeline = (...lines: string[]) => ['pipeline:', '  name: demand-forecast', ...lines, ''].join('\n');

describe('pipeline.yaml problems, at the node at fault', () => {
  it('reports a YAML syntax error at its position', () => {
    assert.deepEqual(validate('pipeline:\n  name: x\n schedule: "0 2 * * 1"\n'), [
      'pipeline.yaml:3:1: invalid YAML: all mapping items must start at the same column',
    ]);
    assert.deepEqual(validate('pipeline:\n  name: x\n\tschedule: "@daily"\n'), [
      'pipeline.yaml:3:1: invalid YAML: tabs are not allowed as indentation',
    ]);
    assert.deepEqual(validate('pipeline:\n  name: x\n---\npipeline:\n  name: y\n'), [
      "pipeline.yaml:3:1: invalid YAML: a config file holds one document; remove the '---' line",
    ]);
  });

  it('reports a duplicate key at the second one, naming the first', () => {
    assert.deepEqual(validate(pipeline('  schedule: "@daily"', '  name: other')), [
      "pipeline.yaml:4:3: duplicate key 'name' (first on line 2)",
    ]);
  });

  it('reports a duplicate key and the schema problems of the same file together', () => {
    assert.deepEqual(validate(pipeline('  image: a', '  image: b', '  imgae: c')), [
      "pipeline.yaml:4:3: duplicate key 'image' (first on line 3)",
      "pipeline.yaml:5:3: unknown key 'imgae' (did you mean 'image'?)",
    ]);
  });

  it('reports a YAML warning that changes meaning', () => {
    assert.deepEqual(validate(pipeline('  image: !env IMAGE')), ['pipeline.yaml:3:10: YAML warning: unresolved tag: !env']);
  });

  it('reports an unknown key at the key, with the closest valid key', () => {
    assert.deepEqual(validate(pipeline('  deployment:', '    rollout:', '      step_percnt: 10')), [
      "pipeline.yaml:5:7: unknown key 'step_percnt' (did you mean 'step_percent'?)",
    ]);
    assert.deepEqual(validate(pipeline('  replicas: 3')), ["pipeline.yaml:3:3: unknown key 'replicas'"]);
    assert.deepEqual(validate('pipelines:\n  name: x\n'), [
      "pipeline.yaml:1:1: missing required key 'pipeline'",
      "pipeline.yaml:1:1: unknown key 'pipelines' (did you mean 'pipeline'?)",
    ]);
  });

  it('reports a wrong type at the value', () => {
    assert.deepEqual(validate(pipeline('  deployment:', '    rollout:', '      step_interval_minutes: ten')), [
      "pipeline.yaml:5:30: expected a number, got a string ('ten')",
    ]);
    assert.deepEqual(validate(pipeline('  groups:', '    generate: yes', '    source: warehouse.cities')), [
      "pipeline.yaml:4:15: expected true or false, got a string ('yes')",
    ]);
    assert.deepEqual(validate(pipeline('  steps:', '    name: train')), ['pipeline.yaml:4:5: expected a list, got a mapping']);
    assert.deepEqual(validate(pipeline('  deployment:', '    replay:', '      requests: 10.5')), [
      'pipeline.yaml:5:17: requests must be a whole number, got 10.5',
    ]);
    assert.deepEqual(validate('- pipeline\n'), ['pipeline.yaml:1:1: expected a mapping, got a list']);
  });

  it('reports an empty value at its key', () => {
    assert.deepEqual(validate('pipeline:\n'), ['pipeline.yaml:1:1: expected a mapping, got an empty value']);
    assert.deepEqual(validate(pipeline('  steps:')), ['pipeline.yaml:3:3: expected a list, got an empty value']);
  });

  it('reports step_percent outside (0, 100]', () => {
    for (const [value, col] of [
      ['0', 21],
      ['-5', 21],
      ['150', 21],
    ] as const) {
      assert.deepEqual(validate(pipeline('  deployment:', '    rollout:', `      step_percent: ${value}`)), [
        `pipeline.yaml:5:${col}: step_percent must be above 0 and at most 100, got ${value}`,
      ]);
    }
  });

  it('accepts fractional percentages with up to two decimals, and says why more are refused', () => {
    for (const value of ['12.5', '0.5', '33.33', '0.01']) {
      assert.deepEqual(
        validate(pipeline('  deployment:', '    rollout:', `      step_percent: ${value}`, '      initial_traffic: 2.5')),
        [],
        value,
      );
    }
    assert.deepEqual(validate(pipeline('  deployment:', '    rollout:', '      step_percent: 12.345', '      initial_traffic: 0.001')), [
      'pipeline.yaml:5:21: step_percent must have at most two decimals (traffic moves in steps of 0.01%), got 12.345',
      'pipeline.yaml:6:24: initial_traffic must have at most two decimals (traffic moves in steps of 0.01%), got 0.001',
    ]);
  });

  it('explains why initial_traffic must stay below 100', () => {
    assert.deepEqual(validate(pipeline('  deployment:', '    rollout:', '      initial_traffic: 100')), [
      'pipeline.yaml:5:24: initial_traffic must be below 100: a candidate that starts with all traffic skips the gradual shift; use strategy: all_at_once',
    ]);
  });

  it('reports a bad cron schedule with the reason', () => {
    assert.deepEqual(validate(pipeline('  schedule: "61 2 * * 1"')), [
      "pipeline.yaml:3:13: schedule '61 2 * * 1' is not valid cron: minute 61 is out of range 0-59",
    ]);
    assert.deepEqual(validate(pipeline('  schedule: "0 2 * *"')), [
      "pipeline.yaml:3:13: schedule '0 2 * *' is not valid cron: expected 5 fields, got 4 (minute hour day-of-month month day-of-week)",
    ]);
  });

  it('reports a bad time zone with the closest name', () => {
    assert.deepEqual(validate(pipeline('  timezone: Europe/Berln')), [
      "pipeline.yaml:3:13: timezone must be an IANA time zone name like 'Europe/Berlin' or 'UTC', got 'Europe/Berln' (did you mean 'Europe/Berlin'?)",
    ]);
  });

  it('reports a groups.source that is not <connection>.<table>', () => {
    assert.deepEqual(validate(pipeline('  groups:', '    generate: true', '    source: cities')), [
      "pipeline.yaml:5:13: groups.source must be '<connection>.<table>', got 'cities'",
    ]);
  });

  it('reports duplicate step names at the second name', () => {
    assert.deepEqual(
      validate(
        pipeline(
          '  steps:',
          '    - name: train',
          '      command: python3 train.py',
          '    - name: train',
          '      command: python3 train2.py',
        ),
      ),
      ["pipeline.yaml:6:13: duplicate step name 'train' (step names must be unique)"],
    );
  });

  it('requires a train step', () => {
    assert.deepEqual(validate(pipeline('  steps:', '    - name: fit', '      command: python3 fit.py')), [
      "pipeline.yaml:4:5: steps must include a step named 'train': what it writes to MLP_MODEL_DIR becomes the model version",
    ]);
  });

  it('reports a missing required key at its parent mapping', () => {
    assert.deepEqual(validate('pipeline:\n  schedule: "@daily"\n'), ["pipeline.yaml:2:3: missing required key 'name'"]);
    assert.deepEqual(validate(''), ["pipeline.yaml:1:1: missing required key 'pipeline'"]);
    assert.deepEqual(validate(pipeline('  groups:', '    generate: true')), [
      "pipeline.yaml:4:5: missing required key 'source' (generate: true discovers the groups from '<connection>.<table>')",
    ]);
    assert.deepEqual(validate(pipeline('  steps:', '    - name: train')), ["pipeline.yaml:4:7: missing required key 'command'"]);
  });

  it('checks the replay checks', () => {
    assert.deepEqual(
      validate(
        pipeline(
          '  deployment:',
          '    replay:',
          '      checks:',
          '        - latency: { quantile: 0.99 }',
          '        - latency: { quantile: 1, max_ms: 300 }',
          '        - distribution: { path: "demand", metric: kl, max: 0.2 }',
          '          python: checks/replay.py:f',
          '        - python: checks/replay.py',
          '        - {}',
        ),
      ),
      [
        "pipeline.yaml:6:20: a latency check needs 'max_ratio' or 'max_ms'",
        'pipeline.yaml:7:32: quantile must be between 0 and 1, exclusive, got 1',
        "pipeline.yaml:8:33: path must be a JSONPath into the response starting with '$' (e.g. '$.demand'), got 'demand'",
        "pipeline.yaml:8:51: metric must be one of 'psi', 'ks', 'wasserstein', 'jensen_shannon', got 'kl' (did you mean 'ks'?)",
        'pipeline.yaml:9:19: a replay check has one kind, found distribution and python: make each its own list entry',
        "pipeline.yaml:10:19: python must be 'file.py:function', got 'checks/replay.py'",
        'pipeline.yaml:11:11: a replay check needs one of latency, distribution, max_abs_diff, python',
      ],
    );
  });

  it('checks the data checks', () => {
    assert.deepEqual(
      validate(
        pipeline(
          '  deployment:',
          '    data_checks:',
          '      - suite: expectations/features.json',
          '        data: "sql: SELECT * FROM features"',
          '      - suite: expectations/features.json',
          '        data: data/latest.csv',
          '        connection: warehouse',
          '        engine: soda',
        ),
      ),
      [
        "pipeline.yaml:6:15: 'sql:' data needs a warehouse connection: set connection on this check or groups.source",
        "pipeline.yaml:9:21: connection is only used with 'sql:' data; data here is a file",
        "pipeline.yaml:10:17: engine must be one of 'native', 'great_expectations', got 'soda'",
      ],
    );
  });

  it('reports every problem of a file, in order', () => {
    assert.deepEqual(validate(fixture('many-mistakes.yaml'), 'many-mistakes.yaml'), [
      "many-mistakes.yaml:2:9: name must be a lowercase slug (a-z, 0-9, '-' and '_', starting with a letter or digit), got 'Demand Forecast'",
      "many-mistakes.yaml:3:13: schedule '0 25 * * 1' is not valid cron: hour 25 is out of range 0-23",
      "many-mistakes.yaml:6:13: groups.source must be '<connection>.<table>', got 'cities'",
      "many-mistakes.yaml:8:20: expected a number, got a string ('ten')",
      "many-mistakes.yaml:10:14: backend must be one of 'local', 'docker', 'sagemaker', got 'dokcer' (did you mean 'docker'?)",
      "many-mistakes.yaml:12:7: unknown key 'step_percnt' (did you mean 'step_percent'?)",
      'many-mistakes.yaml:13:24: initial_traffic must be below 100: a candidate that starts with all traffic skips the gradual shift; use strategy: all_at_once',
      'many-mistakes.yaml:15:28: on_error_rate_above must be above 0 and at most 1 (a fraction of requests: 0.05 = 5%), got 5',
    ]);
  });

  it('locates any key path, for rules checked across files', () => {
    const parsed = parsePipelineConfig(fixture('reference.yaml'), 'reference.yaml');
    assert.deepEqual(parsed.locate(['pipeline', 'groups', 'source']), { line: 6, col: 13 });
    assert.deepEqual(parsed.problemAt(['pipeline', 'name'], 'taken'), { file: 'reference.yaml', line: 2, col: 9, message: 'taken' });
    assert.deepEqual(parsed.problemAt(['pipeline', 'name'], 'taken', 'key'), { file: 'reference.yaml', line: 2, col: 3, message: 'taken' });
  });
});

describe('repo defaults', () => {
  it('fill what a pipeline leaves out, and only that', () => {
    const defaults = { timezone: 'Europe/Berlin', deployment: { backend: 'docker' as const } };
    const bare = parsePipelineConfig(pipeline(), 'pipeline.yaml', { defaults });
    assert.equal(bare.config?.pipeline.timezone, 'Europe/Berlin');
    assert.equal(bare.config?.pipeline.deployment.backend, 'docker');
    const own = parsePipelineConfig(pipeline('  timezone: UTC', '  deployment:', '    backend: local'), 'pipeline.yaml', { defaults });
    assert.equal(own.config?.pipeline.timezone, 'UTC');
    assert.equal(own.config?.pipeline.deployment.backend, 'local');
  });
});

describe('mlp.yaml problems', () => {
  it('reports every problem, at the node at fault', () => {
    const { config, problems } = parseRepoConfig(fixture('mistakes.mlp.yaml'), 'mlp.yaml');
    assert.equal(config, undefined);
    assert.deepEqual(
      problems.map((p) => formatProblem(p)),
      [
        "mlp.yaml:3:3: connection name 'bad-name' must be letters, digits and _, not starting with a digit",
        "mlp.yaml:4:7: warehouse 'pg' must be 'sqlite:<file>' or a URL like 'postgres://user@host:5432/db', got 'mysql://db'",
        "mlp.yaml:6:3: missing required key 'role_arn'",
        "mlp.yaml:10:14: backend must be one of 'local', 'docker', 'sagemaker', got 'dockr' (did you mean 'docker'?)",
      ],
    );
  });

  it('accepts a full mlp.yaml and an empty file', () => {
    const example = [
      'warehouses:',
      '  warehouse: sqlite:warehouse.db',
      'aws:',
      '  region: eu-west-1',
      '  role_arn: arn:aws:iam::123456789012:role/mlp-sagemaker',
      '  bucket: team-mlp-artifacts',
      '',
    ].join('\n');
    assert.deepEqual(parseRepoConfig(example, 'mlp.yaml').config, {
      warehouses: { warehouse: 'sqlite:warehouse.db' },
      aws: { region: 'eu-west-1', role_arn: 'arn:aws:iam::123456789012:role/mlp-sagemaker', bucket: 'team-mlp-artifacts' },
      notify: [],
    });
    assert.deepEqual(parseRepoConfig('', 'mlp.yaml').config, { warehouses: {}, notify: [] });
  });

  it('takes prices for the cost estimates, and reports a wrong instance type or price where it is', () => {
    const prices = [
      'prices:',
      '  as_of: 2027-01-15',
      '  region: eu-west-1',
      '  training:',
      '    ml.m5.xlarge: 0.26',
      '  hosting:',
      '    ml.m5.large: 0.13',
      '',
    ];
    assert.deepEqual(parseRepoConfig(prices.join('\n'), 'mlp.yaml').config?.prices, {
      as_of: '2027-01-15',
      region: 'eu-west-1',
      training: { 'ml.m5.xlarge': 0.26 },
      hosting: { 'ml.m5.large': 0.13 },
    });
    const wrong = ['prices:', '  training:', '    m5.xlarge: 0.26', '  hosting:', '    ml.m5.large: -1', '  currency: EUR', ''];
    assert.deepEqual(
      parseRepoConfig(wrong.join('\n'), 'mlp.yaml').problems.map((p) => formatProblem(p)),
      [
        "mlp.yaml:3:5: instance type 'm5.xlarge' must look like 'ml.m5.xlarge'",
        'mlp.yaml:5:18: ml.m5.large must be at least 0, got -1',
        "mlp.yaml:6:3: unknown key 'currency'",
      ],
    );
  });
});

describe('rules across keys', () => {
  it('still run when other keys of the same mapping are wrong', () => {
    assert.deepEqual(
      validate(
        pipeline(
          '  groups:',
          '    generate: true',
          '    parallelism: many',
          '  steps:',
          '    - name: train',
          '      command: python3 train.py',
          '      timeout_minutes: -1',
          '    - name: train',
          '      command: python3 train.py',
        ),
      ),
      [
        "pipeline.yaml:4:5: missing required key 'source' (generate: true discovers the groups from '<connection>.<table>')",
        "pipeline.yaml:5:18: expected a number, got a string ('many')",
        'pipeline.yaml:9:24: timeout_minutes must be above 0, got -1',
        "pipeline.yaml:10:13: duplicate step name 'train' (step names must be unique)",
      ],
    );
  });
});
